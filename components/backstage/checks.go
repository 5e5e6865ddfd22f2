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

// ownedAppConfig are the app-config values the program derives from its own settings;
// app-config that set them would make Backstage do one thing while the program deploys
// another (a database the NetworkPolicy does not allow, a port no probe asks).
var ownedAppConfig = []struct {
	path []string
	from string
}{
	{[]string{"app", "baseUrl"}, "backstage:host and backstage:tls"},
	{[]string{"backend", "baseUrl"}, "backstage:host and backstage:tls"},
	{[]string{"backend", "listen"}, "its port 7007, which the Service, the probes and the NetworkPolicies use"},
	{[]string{"backend", "database", "client"}, "backstage:database (PostgreSQL)"},
	{[]string{"backend", "database", "connection"}, "backstage:database and its keys (host, port, user, password, TLS)"},
}

// CheckAppConfigOwnership refuses app-config that sets what the program derives.
func CheckAppConfigOwnership(appConfig map[string]any) error {
	for _, owned := range ownedAppConfig {
		if _, set := AppConfigValue(appConfig, owned.path...); set {
			return fmt.Errorf("sets %s, which the program derives from %s; remove it and set those instead", strings.Join(owned.path, "."), owned.from)
		}
	}
	return nil
}
