package edit

import (
	"strings"
	"unicode"
)

// British and American spellings: ukToUS maps each British form the editor knows (with its
// inflections) to the American one, usToUK the reverse. Words spelt alike in both, or whose
// American form is ambiguous (practise/practice, storey/story, cheque/check), are left out.
var ukToUS, usToUK = func() (map[string]string, map[string]string) {
	uk := map[string]string{}
	add := func(a, b string) { uk[a] = b }
	// -our / -or
	for _, stem := range strings.Fields("col flav fav hon hum lab neighb behavi harb rum vap od arm sav val vig endeav clam tum") {
		for _, suf := range []string{"", "s", "ed", "ing", "ful", "less", "ite", "ites", "able", "hood", "hoods", "er", "ers"} {
			add(stem+"our"+suf, stem+"or"+suf)
		}
	}
	// -ise / -ize
	for _, stem := range strings.Fields(`organ real recogn apolog special summar emphas categor minim maxim optim priorit
		standard util civil visual modern normal final capital critic memor symbol author custom fertil steril stabil
		mobil global central local personal industrial character harmon sympath agon colon vapor fantas item
		jeopard mesmer natural patron penal public revolution satir scrutin subsid synthes terror trivial
		vandal vocal western digit`) {
		for _, suf := range []string{"ise", "ised", "ises", "ising", "isation", "isations", "iser", "isers"} {
			add(stem+suf, stem+"iz"+suf[2:])
		}
	}
	// -yse / -yze ("analyses" is also the plural of analysis in both, so it stays)
	for _, stem := range strings.Fields("anal paral catal") {
		for _, suf := range []string{"yse", "ysed", "ysing"} {
			add(stem+suf, stem+"yz"+suf[2:])
		}
	}
	// -re / -er
	for _, stem := range strings.Fields("cent theat met lit fib somb spect lust calib kilomet centimet millimet") {
		add(stem+"re", stem+"er")
		add(stem+"res", stem+"ers")
		add(stem+"red", stem+"ered")
	}
	// doubled l before a suffix
	for _, stem := range strings.Fields("travel cancel model label fuel signal level total dial marvel counsel tunnel quarrel") {
		for _, suf := range []string{"led", "ling", "ler", "lers"} {
			add(stem+suf, stem+suf[1:])
		}
	}
	for _, pair := range strings.Fields(`grey:gray greys:grays tyre:tire tyres:tires programme:program programmes:programs
		aluminium:aluminum mould:mold moulds:molds plough:plow ploughs:plows sceptical:skeptical sceptic:skeptic
		ageing:aging judgement:judgment judgements:judgments defence:defense defences:defenses offence:offense
		offences:offenses catalogue:catalog catalogues:catalogs jewellery:jewelry manoeuvre:maneuver
		manoeuvres:maneuvers encyclopaedia:encyclopedia anaesthetic:anesthetic paediatric:pediatric
		enrolment:enrollment fulfil:fulfill skilful:skillful wilful:willful pyjamas:pajamas cosy:cozy
		travellers:travelers traveller:traveler woollen:woolen`) {
		a, b, _ := strings.Cut(pair, ":")
		add(a, b)
	}
	us := make(map[string]string, len(uk))
	for a, b := range uk {
		us[b] = a
	}
	// American forms that are also British words of their own stay: a meter measures, a
	// program runs on a computer, and to tire is a verb everywhere.
	for _, w := range []string{"meter", "meters", "program", "programs", "tire", "tires"} {
		delete(us, w)
	}
	return uk, us
}()

// resolveSpelling turns the config's spelling ("us", "uk", "consistent" or "") into the variety
// to write: for "consistent", the one most of text's known words already use (none on a tie).
func resolveSpelling(text, mode string) string {
	switch strings.ToLower(mode) {
	case "us", "american", "en-us":
		return "us"
	case "uk", "gb", "british", "en-gb":
		return "uk"
	case "consistent", "auto":
		uk, us := 0, 0
		for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
			if _, ok := ukToUS[w]; ok {
				uk++
			} else if _, ok := usToUK[w]; ok {
				us++
			}
		}
		switch {
		case uk > us:
			return "uk"
		case us > uk:
			return "us"
		}
	}
	return ""
}

// respell rewrites the words of the other variety, keeping their capitalisation.
func respell(toks []string, variety string, n *counts) []string {
	table := ukToUS
	if variety == "uk" {
		table = usToUK
	}
	for i, t := range toks {
		start := strings.IndexFunc(t, unicode.IsLetter)
		if start < 0 {
			continue
		}
		end := start
		for end < len(t) && unicode.IsLetter(rune(t[end])) {
			end++
		}
		word := t[start:end]
		repl, ok := table[strings.ToLower(word)]
		if !ok {
			continue
		}
		switch {
		case word == strings.ToUpper(word) && len(word) > 1:
			repl = strings.ToUpper(repl)
		case unicode.IsUpper(rune(word[0])):
			repl = strings.ToUpper(repl[:1]) + repl[1:]
		}
		toks[i] = t[:start] + repl + t[end:]
		n.spelling++
		n.note("spelling: %q → %q", word, repl)
	}
	return toks
}
