package api

import (
	"context"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/efactori/drivesync/shared/connection"
	"github.com/efactori/drivesync/shared/drivesync"
	"github.com/efactori/drivesync/shared/problem"
)

// The pages the OAuth callback shows a person when it cannot send the browser back to eFactori:
// worded in the connection's language when the state says which connection it is, else in the
// browser's (Accept-Language), else in French, eFactori's default. API clients get the problem
// as JSON, in English, like every other API error.

// ConsentLocales is implemented by Callbacks that can tell the language of the connection a
// consent's state was issued for (*connection.Service does). It must not use or change the state.
type ConsentLocales interface {
	ConsentLocale(ctx context.Context, state string) (drivesync.Locale, error)
}

var _ ConsentLocales = (*connection.Service)(nil)

// pageText is one page in one language.
type pageText struct {
	Title, Detail string
}

// pageLocale is the words of every callback page in one language.
type pageLocale struct {
	Product, Back string
	Pages         map[string]pageText // by problem type slug; "" for any other problem
}

// The problem types the pages have their own words for.
const (
	slugExpiredLink      = "invalid-authorization-state"
	slugOtherBrowser     = "authorization-other-browser"
	slugMethodNotAllowed = "method-not-allowed"
)

var callbackPages = map[drivesync.Locale]pageLocale{
	drivesync.LocaleFR: {
		Product: "Google Drive pour eFactori", Back: "Retour à eFactori",
		Pages: map[string]pageText{
			slugExpiredLink: {"Lien expiré",
				"Ce lien d'autorisation a expiré ou a déjà été utilisé. Retournez dans eFactori et connectez à nouveau Google Drive."},
			slugOtherBrowser: {"Ouvert dans un autre navigateur",
				"Cette autorisation Google a été commencée dans un autre navigateur, ou ce navigateur ne garde pas les cookies. " +
					"Rien n'a été modifié. Connectez Google Drive depuis eFactori dans ce navigateur, avec les cookies autorisés, et terminez-y l'autorisation."},
			slugMethodNotAllowed: {"Adresse non prévue pour cet usage",
				"Cette adresse ne sert qu'aux liens ouverts par eFactori et Google. Retournez dans eFactori."},
			"": {"Erreur inattendue",
				"La connexion à Google Drive n'a pas pu être terminée à cause d'une erreur de notre côté. Retournez dans eFactori et réessayez dans quelques instants."},
		},
	},
	drivesync.LocaleNL: {
		Product: "Google Drive voor eFactori", Back: "Terug naar eFactori",
		Pages: map[string]pageText{
			slugExpiredLink: {"Link verlopen",
				"Deze autorisatielink is verlopen of werd al gebruikt. Ga terug naar eFactori en koppel Google Drive opnieuw."},
			slugOtherBrowser: {"Geopend in een andere browser",
				"Deze Google-autorisatie werd in een andere browser gestart, of deze browser bewaart geen cookies. " +
					"Er is niets gewijzigd. Koppel Google Drive vanuit eFactori in deze browser, met cookies toegestaan, en rond de autorisatie daar af."},
			slugMethodNotAllowed: {"Adres niet bedoeld voor dit gebruik",
				"Dit adres dient alleen voor de links die eFactori en Google openen. Ga terug naar eFactori."},
			"": {"Onverwachte fout",
				"De koppeling met Google Drive kon door een fout aan onze kant niet worden voltooid. Ga terug naar eFactori en probeer het zo meteen opnieuw."},
		},
	},
	drivesync.LocaleEN: {
		Product: "Google Drive for eFactori", Back: "Back to eFactori",
		Pages: map[string]pageText{
			slugExpiredLink:      {problemExpiredLink.Title, problemExpiredLink.Detail},
			slugOtherBrowser:     {problemOtherBrowser.Title, problemOtherBrowser.Detail},
			slugMethodNotAllowed: {"Not meant for this", "This address only serves the links eFactori and Google open. Go back to eFactori."},
			"": {"Unexpected error",
				"The Google Drive connection could not be completed because of an error on our side. Go back to eFactori and try again in a moment."},
		},
	},
}

// pageLocaleFor picks the language of a callback page: the connection's, when the request's
// state names one, else the best of fr, nl and en in Accept-Language, else French.
func (c *Callback) pageLocaleFor(r *http.Request) drivesync.Locale {
	if cl, ok := c.opts.Callbacks.(ConsentLocales); ok {
		if state := r.URL.Query().Get("state"); state != "" && len(state) <= maxCallbackParam {
			l, err := cl.ConsentLocale(r.Context(), state)
			if err == nil && l.Valid() {
				return l
			}
			// An unknown or used state is the usual reason for this page; the browser's
			// language does as well.
		}
	}
	if l, ok := acceptedLocale(r.Header.Get("Accept-Language")); ok {
		return l
	}
	return drivesync.LocaleFR
}

// acceptedLocale returns the locale among fr, nl and en that an Accept-Language header
// (RFC 9110 §12.5.4) prefers most, matching on the primary language tag ("fr-BE" is fr).
func acceptedLocale(header string) (drivesync.Locale, bool) {
	var best drivesync.Locale
	bestQ := 0.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				f = 0
			}
			q = f
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		l := drivesync.Locale(primary)
		if !l.Valid() || q <= bestQ {
			continue
		}
		best, bestQ = l, q
	}
	return best, best != ""
}

// pageData is what problemPage shows.
type pageData struct {
	Lang, Title, Detail, Product, Back, BackURL string
}

// pageFor is the page for p in the request's language, with a link back to the frontend.
func (c *Callback) pageFor(r *http.Request, p *problem.Problem) pageData {
	lang := c.pageLocaleFor(r)
	words := callbackPages[lang]
	text, ok := words.Pages[strings.TrimPrefix(p.Type, problem.TypeBase)]
	if !ok {
		text = words.Pages[""]
	}
	return pageData{Lang: string(lang), Title: text.Title, Detail: text.Detail, Product: words.Product,
		Back: words.Back, BackURL: c.frontend.String()}
}

var problemPage = template.Must(template.New("problem").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} – {{.Product}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}a{color:#1a56db}</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Detail}}</p>
<p><a href="{{.BackURL}}">{{.Back}}</a></p>
</main>
</body>
</html>
`))
