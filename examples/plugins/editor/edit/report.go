package edit

import (
	"strconv"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

// appendJSON appends the report of the changes, the answer's "edits" member:
//
//	{"changes": 4, "doubledWords": 1, "fillers": 1, "wordyPhrases": 1, "capitals": 1,
//	 "spacing": 0, "spellings": 0, "titleAdded": false,
//	 "details": ["doubled word: \"the the\" → \"the\"", "filler removed: \"very\"", …]}
//
// changes is the sum of the counts (a title added counts one); details spells out the first
// twelve changes in the order they were made.
func (n *counts) appendJSON(b []byte) []byte {
	num := func(name string, v int) {
		b = append(b, `,"`...)
		b = append(b, name...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, int64(v), 10)
	}
	b = append(b, `{"changes":`...)
	b = strconv.AppendInt(b, int64(n.total()), 10)
	num("doubledWords", n.doubled)
	num("fillers", n.fillers)
	num("wordyPhrases", n.phrases)
	num("capitals", n.capitals)
	num("spacing", n.spacing)
	num("spellings", n.spelling)
	b = append(b, `,"titleAdded":`...)
	b = strconv.AppendBool(b, n.titled)
	b = append(b, `,"details":[`...)
	for i, d := range n.details {
		if i > 0 {
			b = append(b, ',')
		}
		b = iomwasm.AppendString(b, d)
	}
	return append(b, "]}"...)
}
