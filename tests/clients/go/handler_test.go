package clients

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// A request as the handler saw it.
type received struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   string
}

// handler is a real HTTP server on the address of APP_ENGINE_EMULATOR_HOST (where the emulator sends
// App Engine tasks); HTTP tasks are pointed at it too. It answers 200 and records each request by path.
type handler struct {
	URL     string
	mu      sync.Mutex
	waiting map[string]chan received
	server  *http.Server
}

func startHandler() (*handler, error) {
	base := os.Getenv("APP_ENGINE_EMULATOR_HOST")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	parsed, err := url.Parse(base)
	if err != nil || parsed.Host == "" {
		return nil, fmt.Errorf("APP_ENGINE_EMULATOR_HOST=%q is not host:port", base)
	}
	listener, err := net.Listen("tcp", parsed.Host)
	if err != nil {
		return nil, err
	}
	h := &handler{URL: base, waiting: map[string]chan received{}}
	h.server = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.server.Serve(listener) }()
	return h, nil
}

func (h *handler) channel(path string) chan received {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.waiting[path]
	if !ok {
		ch = make(chan received, 16)
		h.waiting[path] = ch
	}
	return ch
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.channel(r.URL.Path) <- received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(body)}
	w.WriteHeader(http.StatusOK)
}

// next waits (bounded) for the next request to path.
func (h *handler) next(t *testing.T, path string) received {
	t.Helper()
	select {
	case r := <-h.channel(path):
		return r
	case <-time.After(20 * time.Second):
		t.Fatalf("no request reached %s within 20 s", path)
		return received{}
	}
}

// emulatorJWKS finds the JWKS through the emulator's OpenID configuration, as a verifier of Google ID
// tokens finds Google's.
func emulatorJWKS(ctx context.Context) (keyfunc.Keyfunc, error) {
	discovery := "http://" + os.Getenv("CLOUD_TASKS_EMULATOR_HOST") + "/.well-known/openid-configuration"
	resp, err := http.Get(discovery)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var config struct {
		JwksURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&config); err != nil {
		return nil, fmt.Errorf("%s: %w", discovery, err)
	}
	return keyfunc.NewDefaultCtx(ctx, []string{config.JwksURI})
}

// verifyIDToken checks the RS256 signature against the emulator's JWKS, the issuer, audience and expiry.
func verifyIDToken(ctx context.Context, raw, audience string) (jwt.MapClaims, error) {
	keys, err := emulatorJWKS(ctx)
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(raw, claims, keys.Keyfunc,
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer("https://accounts.google.com"),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired())
	return claims, err
}
