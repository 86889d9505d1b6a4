package policy

import "context"

var bg = context.Background()
