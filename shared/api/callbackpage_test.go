package api_test

import (
	"context"
	"errors"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/efactori/drivesync/shared/api"
	"github.com/efactori/drivesync/shared/drivesync"
)

// localeCallbacks is stubCallbacks that also knows the locale of the connection a state is for.
type localeCallbacks struct {
	stubCallbacks
	locale    drivesync.Locale
	localeErr error
	asked     []string
}

func (l *localeCallbacks) ConsentLocale(_ context.Context, state string) (drivesync.Locale, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked = append(l.asked, state)
	return l.locale, l.localeErr
}

var _ api.ConsentLocales = (*localeCallbacks)(nil)

// TestCallbackPageLanguage checks the pages a person sees when the consent cannot go back to
// eFactori: in the connection's language, else the browser's, else French, never mixed.
func TestCallbackPageLanguage(t *testing.T) {
	t.Parallel()
	const state = "st4te-for-the-language-test"
	wrongBrowser := drivesync.ErrWrongBrowser
	expired := drivesync.ErrInvalidState
	tests := []struct {
		name           string
		acceptLanguage string
		locale         drivesync.Locale // the connection's; "" when the service does not know it
		localeErr      error
		err            error
		lang           string
		says, notSays  []string
	}{
		{name: "no header: French", err: expired, lang: "fr",
			says: []string{"Lien expiré", "Retournez dans eFactori", "Retour à eFactori"}, notSays: []string{"Go back", "Ga terug"}},
		{name: "Dutch browser", acceptLanguage: "nl-BE,nl;q=0.9,en;q=0.5", err: expired, lang: "nl",
			says: []string{"Link verlopen", "Ga terug naar eFactori", "Terug naar eFactori"}, notSays: []string{"Retournez", "Go back"}},
		{name: "English browser", acceptLanguage: "en-GB,en;q=0.9", err: wrongBrowser, lang: "en",
			says: []string{"Opened in another browser", "in this browser", "Back to eFactori"}, notSays: []string{"navigateur"}},
		{name: "the best quality wins", acceptLanguage: "fr;q=0.2, NL;q=0.8, en;q=0.5", err: expired, lang: "nl",
			says: []string{"Link verlopen"}},
		{name: "an unknown language is skipped", acceptLanguage: "de-DE, en;q=0.3", err: expired, lang: "en",
			says: []string{"Link expired"}},
		{name: "only unknown languages: French", acceptLanguage: "de-DE,de;q=0.9", err: expired, lang: "fr",
			says: []string{"Lien expiré"}},
		{name: "q=0 refuses a language", acceptLanguage: "en;q=0, nl;q=0.1", err: expired, lang: "nl",
			says: []string{"Link verlopen"}},
		{name: "the connection's language wins over the browser's", acceptLanguage: "en", locale: drivesync.LocaleNL,
			err: wrongBrowser, lang: "nl", says: []string{"Geopend in een andere browser", "in deze browser"}, notSays: []string{"another browser"}},
		{name: "state unknown to the service: the browser's language", acceptLanguage: "en", localeErr: expired,
			err: expired, lang: "en", says: []string{"Link expired"}},
		{name: "internal error, French", locale: drivesync.LocaleFR, err: errors.New("firestore unavailable"), lang: "fr",
			says: []string{"Erreur inattendue", "erreur de notre côté"}, notSays: []string{"Internal error", "firestore"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cbs := &localeCallbacks{stubCallbacks: stubCallbacks{err: tt.err}, locale: tt.locale, localeErr: tt.localeErr}
			if tt.locale == "" && tt.localeErr == nil {
				cbs.localeErr = expired
			}
			cb, err := api.NewCallback(api.CallbackOptions{Callbacks: cbs, FrontendURL: frontendURL, RedirectURL: redirectURL,
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatalf("NewCallback: %v", err)
			}
			req := httptest.NewRequest(http.MethodGet, "/?state="+state+"&code=c", nil)
			req.Header.Set("Accept", "text/html")
			if tt.acceptLanguage != "" {
				req.Header.Set("Accept-Language", tt.acceptLanguage)
			}
			rec := httptest.NewRecorder()
			cb.ServeHTTP(rec, req)
			body := html.UnescapeString(rec.Body.String())
			if !strings.Contains(body, `<html lang="`+tt.lang+`">`) {
				t.Errorf("page is not marked lang=%s:\n%s", tt.lang, body)
			}
			for _, s := range tt.says {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q:\n%s", s, body)
				}
			}
			for _, s := range tt.notSays {
				if strings.Contains(body, s) {
					t.Errorf("page has %q, another language's or internal words:\n%s", s, body)
				}
			}
			if !strings.Contains(body, `href="`+frontendURL+`"`) {
				t.Errorf("page has no link back to %s:\n%s", frontendURL, body)
			}
			if len(cbs.asked) != 1 || cbs.asked[0] != state {
				t.Errorf("ConsentLocale asked for %q, want the request's state once", cbs.asked)
			}
		})
	}
}

// TestCallbackPageLanguageStart checks the start link's page: an unusable link is explained in
// the connection's language too.
func TestCallbackPageLanguageStart(t *testing.T) {
	t.Parallel()
	cbs := &localeCallbacks{stubCallbacks: stubCallbacks{startErr: drivesync.ErrInvalidState}, locale: drivesync.LocaleNL}
	cb, err := api.NewCallback(api.CallbackOptions{Callbacks: cbs, FrontendURL: frontendURL, RedirectURL: redirectURL,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("NewCallback: %v", err)
	}
	req := httptest.NewRequest(http.MethodGet, "/start?state=s", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Accept-Language", "fr")
	rec := httptest.NewRecorder()
	cb.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Link verlopen") {
		t.Errorf("status %d, page:\n%s", rec.Code, rec.Body)
	}
}
