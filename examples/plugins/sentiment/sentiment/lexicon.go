package sentiment

import "strings"

// lexicon maps words to valences from -3 (very negative) to 3 (very positive).
var lexicon = func() map[string]float64 {
	m := map[string]float64{}
	for _, group := range []struct {
		v     float64
		words string
	}{
		{3, `excellent outstanding amazing wonderful fantastic superb brilliant perfect love loved loves
			awesome incredible marvelous exceptional magnificent delightful thrilled ecstatic best`},
		{2, `good great nice happy glad pleased enjoy enjoyed enjoying beautiful lovely recommend recommended
			impressive helpful friendly fast reliable satisfied pleasant fun exciting excited smooth clean
			comfortable elegant favorite favourite like liked likes win winning success successful thank thanks
			grateful kind generous useful valuable worth praise positive cool easy fine well`},
		{1, `ok okay decent fair adequate acceptable calm simple reasonable solid improved better interesting`},
		{-1, `slow meh mediocre boring bland late confusing complicated expensive noisy odd weird tired issue
			issues problem problems difficult hard`},
		{-2, `bad poor sad unhappy angry annoyed annoying disappointed disappointing broken useless rude dirty
			ugly wrong fail failed fails failure bug buggy crash crashed crashes hate hated dislike worse
			unreliable uncomfortable waste wasted refund complaint complain complained negative lost lose
			error errors sucks scam overpriced`},
		{-3, `terrible awful horrible worst disgusting dreadful pathetic abysmal furious hideous atrocious
			unacceptable appalling nightmare garbage trash`},
	} {
		for _, w := range strings.Fields(group.words) {
			m[w] = group.v
		}
	}
	return m
}()

var negators = set(`not no never none nobody nothing neither nor without hardly cannot cant dont doesnt isnt wasnt arent werent wont`)

var intensifiers = set(`very really extremely so too incredibly absolutely totally truly highly super especially particularly remarkably`)

var diminishers = set(`slightly somewhat barely kinda marginally partly rather`)

func set(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
