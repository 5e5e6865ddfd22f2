package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The traffic matrix (tests/traffic, a module of its own: cyclonus needs other
// Kubernetes pins) judges NetworkPolicies as traffic. This test writes what it reads:
// for each scenario, the policies the program registers and the pods its workloads
// make, with their namespaces' labels. `make test-traffic` points TRAFFIC_OBJECTS at a
// folder and runs both.

// trafficObjects is one scenario's input to the matrix.
type trafficObjects struct {
	Namespaces map[string]map[string]string `json:"namespaces"`
	Policies   []any                        `json:"policies"`
	Pods       []trafficPod                 `json:"pods"`
}

type trafficPod struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
}

func trafficScenarios(t *testing.T) map[string]stackConfig {
	return map[string]stackConfig{
		"dev":      loadStack(t, "dev"),
		"prod":     loadStack(t, "prod"),
		"local":    loadStack(t, "local"),
		"kind":     loadStack(t, "kind"),
		"settings": withEverySetting(t),
		"external": withExternalDatabase(t, "prod"),
		"gateway":  withGateway(t, "prod"),
		"egress":   withEgressRules(t, "prod"),
		// The maintained edge, and the move to it with ingress-nginx kept.
		"envoy-gateway": envoyGatewayProd(t),
		"edge-move":     envoyGatewayProd(t).with("keepIngressNginx", "true").with("ingressAdmissionWebhook", "false"),
	}
}

func TestRenderedObjectsForTheTrafficMatrix(t *testing.T) {
	out := os.Getenv("TRAFFIC_OBJECTS")
	if out == "" {
		out = t.TempDir()
	}
	for name, cfg := range trafficScenarios(t) {
		rec := mustRun(t, cfg)
		objects := trafficObjects{Namespaces: map[string]map[string]string{}}
		for _, res := range rec.Registrations() {
			switch res.Type {
			case "kubernetes:core/v1:Namespace":
				ns := str(res.Inputs, "metadata", "name")
				labels := map[string]string{"kubernetes.io/metadata.name": ns}
				for k, v := range plainMap(get(res.Inputs, "metadata", "labels")) {
					labels[k] = v
				}
				objects.Namespaces[ns] = labels
			case typeNetPol:
				objects.Policies = append(objects.Policies, plain(get(res.Inputs)))
			case typeDeployment, typeStatefulSet, typeJob, typeCronJob:
				path := []string{"spec", "template"}
				if res.Type == typeCronJob {
					path = []string{"spec", "jobTemplate", "spec", "template"}
				}
				objects.Pods = append(objects.Pods, trafficPod{
					Name:      str(res.Inputs, "metadata", "name"),
					Namespace: str(res.Inputs, "metadata", "namespace"),
					Labels:    plainMap(get(res.Inputs, append(path, "metadata", "labels")...)),
				})
			}
		}
		assert.NotEmpty(t, objects.Policies, name)
		assert.NotEmpty(t, objects.Pods, name)
		data, err := json.MarshalIndent(objects, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(out, name+".json"), data, 0o600))
	}
}

func plainMap(v resource.PropertyValue) map[string]string {
	out := map[string]string{}
	if m, ok := plain(v).(map[string]any); ok {
		for k, val := range m {
			out[k] = val.(string)
		}
	}
	return out
}
