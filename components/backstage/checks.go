package backstage

import "github.com/arhean/backstage-pulumi/components/workload"

// CheckReplicas bounds the Backstage replicas. NewBackstage runs it on its args and the
// stack's key table (config) on backstage:replicas: one rule, one message.
func CheckReplicas(v int) error {
	return workload.Between(v, MinReplicas, MaxReplicas, "more pods need more database connections than postgresMaxConnections allows")
}
