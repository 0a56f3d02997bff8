// Errors of the admin API (Google's JSON error body), with the two a test most often meets as classes.

/** An error answer of the admin API, e.g. a clock that cannot move or a fault the emulator refused. */
export class EmulatorError extends Error {
  /**
   * @param {string} message
   * @param {{httpStatus?: number, status?: string, body?: unknown}} [details]
   */
  constructor(message, {httpStatus = 0, status = '', body = undefined} = {}) {
    super(message);
    this.name = 'EmulatorError';
    /** The HTTP status, e.g. 404. */
    this.httpStatus = httpStatus;
    /** The canonical code's name, e.g. 'NOT_FOUND'. */
    this.status = status;
    /** The whole answer as JSON. */
    this.body = body;
  }
}

/**
 * A queue named to drain, attempts or reset does not exist (the message names the closest known ones,
 * `knownQueues` lists them all), or its ID is shared by several queues (`matchingQueues`): a typo fails
 * instead of passing idle.
 */
export class UnknownQueueError extends EmulatorError {
  /**
   * @param {string} message
   * @param {{httpStatus?: number, status?: string, body?: any}} details
   */
  constructor(message, details) {
    super(message, details);
    this.name = 'UnknownQueueError';
    /** @type {string[]} every queue that exists (an unknown queue) */
    this.knownQueues = details.body?.known_queues ?? [];
    /** @type {string[]} the queues with that ID (an ID several queues share) */
    this.matchingQueues = details.body?.matching_queues ?? [];
  }
}

/** Drain ran out of time with deliveries still due. */
export class NotIdleError extends EmulatorError {
  /** @param {string} message @param {{httpStatus?: number, status?: string, body?: unknown}} details */
  constructor(message, details) {
    super(message, details);
    this.name = 'NotIdleError';
  }
}
