package backstage

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/workload"
)

// CheckReplicas bounds the Backstage replicas. NewBackstage runs it on its args and the
// stack's key table (config) on backstage:replicas: one rule, one message.
func CheckReplicas(v int) error {
	return workload.Between(v, MinReplicas, MaxReplicas, "more pods need more database connections than postgresMaxConnections allows")
}

// CheckPodLabels refuses labels that are not labels, and the selector's own keys: the
// Deployment, the Service, the disruption budget and the NetworkPolicies select the
// pods by them, so a pod label of that key would move the pods out of all of them.
func CheckPodLabels(labels map[string]string) error {
	if err := workload.CheckLabels(labels); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if _, owned := names.BackstageSelector[k]; owned {
			return fmt.Errorf("sets %s, which the program's selectors use (%v); use another key", k, names.BackstageSelector)
		}
	}
	return nil
}

// programAnnotationPrefixes are the pod annotations the program writes: the checksums
// that roll the pods and the scrape annotations of backstage:metrics.
var programAnnotationPrefixes = []string{"checksum/", "prometheus.io/"}

// CheckPodAnnotations refuses what is not an annotation key, and the program's own.
func CheckPodAnnotations(annotations map[string]string) error {
	if err := workload.CheckAnnotations(annotations); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		for _, prefix := range programAnnotationPrefixes {
			if strings.HasPrefix(k, prefix) {
				return fmt.Errorf("sets %s, and %s* is the program's (the checksums that roll the pods, the metrics setting's scrape annotations); use another key", k, prefix)
			}
		}
	}
	return nil
}
