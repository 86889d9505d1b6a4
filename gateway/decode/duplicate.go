package decode

import "github.com/iomhq/iom/gateway/rawjson"

// duplicateKey reports the first key that appears twice in one object anywhere in data, which
// must already be valid JSON. encoding/json silently keeps the last one; we refuse the document.
func duplicateKey(data []byte) (string, bool) {
	var walk func(v []byte) (string, bool)
	walk = func(v []byte) (string, bool) {
		switch rawjson.KindOf(v) {
		case rawjson.Object:
			fields, err := rawjson.Members(v, nil)
			if err != nil {
				return "", false
			}
			seen := make(map[string]struct{}, len(fields))
			for _, f := range fields {
				if _, dup := seen[string(f.Key)]; dup {
					return string(f.Key), true
				}
				seen[string(f.Key)] = struct{}{}
				if k, ok := walk(f.Value); ok {
					return k, ok
				}
			}
		case rawjson.Array:
			var key string
			var found bool
			_ = rawjson.Elements(v, func(e []byte) error {
				if k, ok := walk(e); ok {
					key, found = k, true
					return errStop
				}
				return nil
			})
			return key, found
		}
		return "", false
	}
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r') {
		i++
	}
	end, err := rawjson.Skip(data, i)
	if err != nil {
		return "", false
	}
	return walk(data[i:end])
}

type stopError struct{}

func (stopError) Error() string { return "stop" }

var errStop error = stopError{}
