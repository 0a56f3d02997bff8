package dev.cloudtasksemu;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A real HTTP server on the address of APP_ENGINE_EMULATOR_HOST, where the emulator sends App Engine
 * tasks; HTTP tasks are pointed at it too. It answers 200 and records each request by path.
 */
final class Handler implements AutoCloseable {
  record Received(String method, String path, String query, Map<String, String> headers, String body) {}

  final String url;
  private final HttpServer server;
  private final Map<String, BlockingQueue<Received>> inboxes = new ConcurrentHashMap<>();

  Handler() throws java.io.IOException {
    String base = System.getenv("APP_ENGINE_EMULATOR_HOST");
    url = base.contains("://") ? base : "http://" + base;
    URI address = URI.create(url);
    server = HttpServer.create(new InetSocketAddress(address.getHost(), address.getPort()), 0);
    server.createContext("/", exchange -> {
      Map<String, String> headers = new ConcurrentHashMap<>();
      exchange.getRequestHeaders().forEach((key, values) -> headers.put(key.toLowerCase(), String.join(",", values)));
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      URI uri = exchange.getRequestURI();
      inbox(uri.getPath()).add(new Received(exchange.getRequestMethod(), uri.getPath(), uri.getRawQuery(), headers, body));
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    server.start();
  }

  private BlockingQueue<Received> inbox(String path) {
    return inboxes.computeIfAbsent(path, p -> new LinkedBlockingQueue<>());
  }

  /** The next request to path, waiting at most 20 s. */
  Received next(String path) throws InterruptedException {
    Received got = inbox(path).poll(20, TimeUnit.SECONDS);
    if (got == null) {
      throw new AssertionError("no request reached " + path + " within 20 s");
    }
    return got;
  }

  @Override
  public void close() {
    server.stop(0);
  }

  /** Verifies an RS256 ID token against the JWKS that the emulator's OpenID configuration names. */
  static JWTClaimsSet verifyIdToken(String token, String audience) throws Exception {
    String discovery = "http://" + System.getenv("CLOUD_TASKS_EMULATOR_HOST") + "/.well-known/openid-configuration";
    HttpResponse<String> response = HttpClient.newHttpClient()
        .send(HttpRequest.newBuilder(URI.create(discovery)).build(), HttpResponse.BodyHandlers.ofString());
    String jwksUri = (String) JSONObjectUtils.parse(response.body()).get("jwks_uri");
    JWKSource<SecurityContext> keys = JWKSourceBuilder.create(URI.create(jwksUri).toURL()).retrying(false).build();
    DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(JWSAlgorithm.RS256, keys));
    processor.setJWTClaimsSetVerifier(new DefaultJWTClaimsVerifier<>(audience,
        new JWTClaimsSet.Builder().issuer("https://accounts.google.com").build(), Set.of("sub", "iat", "exp", "email")));
    return processor.process(token, null);
  }
}
