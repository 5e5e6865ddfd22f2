package namespace

import "github.com/arhean/backstage-pulumi/components/names"

// DefaultNamespace is where the platform runs when the stack names no namespace.
const DefaultNamespace = names.App
