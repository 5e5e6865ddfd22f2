package tests

import (
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const typeServiceAccount = "kubernetes:core/v1:ServiceAccount"

// The platform's own additions reach their objects beside the program's: pod labels and
// annotations on Backstage's pod template, workload-identity annotations on its
// ServiceAccount, and the token mount off on both.
func TestPodAdditionsAndWorkloadIdentityReachTheirObjects(t *testing.T) {
	rec := mustRun(t, loadStack(t, "kind").
		with("podLabels", `{"team":"platform","cost-center":"42"}`).
		with("podAnnotations", `{"sidecar.istio.io/inject":"true"}`).
		with("serviceAccountAnnotations", `{"eks.amazonaws.com/role-arn":"arn:aws:iam::123456789012:role/backstage"}`).
		with("automountServiceAccountToken", "false"))

	deploy := rec.kube(t, typeDeployment, "backstage").Inputs
	assert.Equal(t, "platform", str(deploy, "spec", "template", "metadata", "labels", "team"))
	assert.Equal(t, "42", str(deploy, "spec", "template", "metadata", "labels", "cost-center"))
	assert.Equal(t, "backstage", str(deploy, "spec", "template", "metadata", "labels", "app"), "the selector's labels stay")
	assert.Equal(t, "backend", str(deploy, "spec", "template", "metadata", "labels", "component"))
	assert.Equal(t, "true", str(deploy, "spec", "template", "metadata", "annotations", "sidecar.istio.io/inject"))
	assert.NotEmpty(t, str(deploy, "spec", "template", "metadata", "annotations", "checksum/config"), "the program's annotations stay")
	assert.Equal(t, false, plain(get(deploy, "spec", "template", "spec", "automountServiceAccountToken")))

	sa := rec.kube(t, typeServiceAccount, "backstage").Inputs
	assert.Equal(t, "arn:aws:iam::123456789012:role/backstage", str(sa, "metadata", "annotations", "eks.amazonaws.com/role-arn"))
	assert.Equal(t, false, plain(get(sa, "automountServiceAccountToken")))

	plainStack := mustRun(t, loadStack(t, "kind"))
	assert.Equal(t, true, plain(get(plainStack.kube(t, typeDeployment, "backstage").Inputs, "spec", "template", "spec", "automountServiceAccountToken")),
		"the token is mounted by default, for the Kubernetes plugin")
}

// Additions that would break the program's own wiring, or that the API server would
// refuse, are refused before anything is registered, naming the key.
func TestPodAdditionsThatBreakTheProgramsWiringAreRefused(t *testing.T) {
	for key, cases := range map[string]map[string]string{
		"podLabels": {
			`{"app":"portal"}`:       "sets app, which the program's selectors use",
			`{"component":"x"}`:      "sets component, which the program's selectors use",
			`{"bad key!":"x"}`:       `"bad key!" is not a label key`,
			`{"team":"not a value"}`: `"not a value" is not a label value`,
		},
		"podAnnotations": {
			`{"checksum/secrets":"0"}`:     "sets checksum/secrets, and checksum/* is the program's",
			`{"prometheus.io/port":"80"}`:  "sets prometheus.io/port, and prometheus.io/* is the program's",
			`{"not/a/qualified/name":"x"}`: `"not/a/qualified/name" is not an annotation key`,
		},
		"serviceAccountAnnotations": {
			`{"-leading":"x"}`: `"-leading" is not an annotation key`,
		},
	} {
		for value, want := range cases {
			rec, err := run(t, loadStack(t, "kind").with(key, value))
			require.Error(t, err, "%s %s", key, value)
			assert.Contains(t, err.Error(), "backstage:"+key+": ", "%s %s names its key", key, value)
			assert.Contains(t, err.Error(), want, "%s %s", key, value)
			assert.Empty(t, rec.Registrations(), "nothing is registered")
		}
	}
}

// Every addition reaches the pod template where it works: the stack's objects before
// the program's as environment (the last source wins), its volumes and mounts, its
// sidecars first as native sidecars and its init containers after wait-for-postgres,
// restricted's settings filled in where a container left them unset, its scheduling
// beside the program's, and its probe timings over the program's.
func TestPodAdditionsReachThePodTemplate(t *testing.T) {
	rec := mustRun(t, loadStack(t, "kind").
		with("envFromSecrets", `["backstage-github"]`).
		with("envFromConfigMaps", `["platform-endpoints"]`).
		with("extraVolumes", `[{"name":"vault-secrets","emptyDir":{"medium":"Memory"}},{"name":"techdocs","persistentVolumeClaim":{"claimName":"techdocs"}}]`).
		with("extraVolumeMounts", `[{"name":"techdocs","mountPath":"/var/techdocs"},{"name":"vault-secrets","mountPath":"/vault/secrets","readOnly":true}]`).
		with("sidecars", `[{"name":"vault-agent","image":"hashicorp/vault:1.18.3","volumeMounts":[{"name":"vault-secrets","mountPath":"/vault/secrets"}]}]`).
		with("initContainers", `[{"name":"fetch-plugins","image":"registry.example/fetch:1.0","securityContext":{"readOnlyRootFilesystem":false}}]`).
		with("affinity", `{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"pool","operator":"In","values":["apps"]}]}]}}}`).
		with("topologySpreadConstraints", `[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"DoNotSchedule"}]`).
		with("probes", `{"startup":{"failureThreshold":60},"liveness":{"periodSeconds":20}}`))

	d := rec.kube(t, typeDeployment, "backstage").Inputs
	pod := func(path ...string) []string { return append([]string{"spec", "template", "spec"}, path...) }
	container := func(path ...string) []string { return pod(append([]string{"containers", "0"}, path...)...) }
	assert.Equal(t, "platform-endpoints", str(d, container("envFrom", "0", "configMapRef", "name")...))
	assert.Equal(t, "backstage-github", str(d, container("envFrom", "1", "secretRef", "name")...))
	assert.Equal(t, "backstage-env-config", str(d, container("envFrom", "2", "configMapRef", "name")...), "the program's variables come last and win")
	assert.Equal(t, "backstage-secrets", str(d, container("envFrom", "3", "secretRef", "name")...))

	var volumes, mounts []string
	for _, v := range plain(get(d, pod("volumes")...)).([]any) {
		volumes = append(volumes, v.(map[string]any)["name"].(string))
	}
	for _, m := range plain(get(d, container("volumeMounts")...)).([]any) {
		mounts = append(mounts, m.(map[string]any)["mountPath"].(string))
	}
	assert.Subset(t, volumes, []string{"tmp", "app-tmp", "vault-secrets", "techdocs"})
	assert.Subset(t, mounts, []string{"/tmp", "/app/tmp", "/var/techdocs", "/vault/secrets"})
	assert.Equal(t, "techdocs", str(d, pod("volumes", strconv.Itoa(slices.Index(volumes, "techdocs")), "persistentVolumeClaim", "claimName")...))

	var order []string
	for _, c := range plain(get(d, pod("initContainers")...)).([]any) {
		order = append(order, c.(map[string]any)["name"].(string))
	}
	assert.Equal(t, []string{"vault-agent", "wait-for-postgres", "fetch-plugins"}, order)
	assert.Equal(t, "Always", str(d, pod("initContainers", "0", "restartPolicy")...), "a native sidecar")
	assert.Nil(t, plain(get(d, pod("initContainers", "2", "restartPolicy")...)), "an init container runs to completion")
	assert.Equal(t, false, plain(get(d, pod("initContainers", "0", "securityContext", "allowPrivilegeEscalation")...)), "restricted's settings are filled in")
	assert.Equal(t, "ALL", str(d, pod("initContainers", "0", "securityContext", "capabilities", "drop", "0")...))
	assert.Equal(t, true, plain(get(d, pod("initContainers", "0", "securityContext", "readOnlyRootFilesystem")...)))
	assert.Equal(t, false, plain(get(d, pod("initContainers", "2", "securityContext", "readOnlyRootFilesystem")...)), "what a container sets stays")

	assert.Equal(t, "pool", str(d, pod("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", "0", "matchExpressions", "0", "key")...))
	assert.NotNil(t, get(d, pod("affinity", "podAntiAffinity")...), "the program's spreading over nodes stays")
	assert.Equal(t, "kubernetes.io/hostname", str(d, pod("topologySpreadConstraints", "0", "topologyKey")...))
	assert.Equal(t, "topology.kubernetes.io/zone", str(d, pod("topologySpreadConstraints", "1", "topologyKey")...))
	assert.Equal(t, "backstage", str(d, pod("topologySpreadConstraints", "1", "labelSelector", "matchLabels", "app")...), "a constraint without a selector selects Backstage's pods")

	assert.Equal(t, 60.0, plain(get(d, container("startupProbe", "failureThreshold")...)))
	assert.Equal(t, 5.0, plain(get(d, container("startupProbe", "periodSeconds")...)), "an unset timing keeps the program's")
	assert.Equal(t, 20.0, plain(get(d, container("livenessProbe", "periodSeconds")...)))
	assert.Equal(t, 10.0, plain(get(d, container("readinessProbe", "periodSeconds")...)))
}

// An addition that breaks Pod Security restricted, the program's wiring or what the API
// server accepts is refused before anything is registered, naming its key: the
// admission plugin's own library judges the containers.
func TestPodAdditionsOutsideTheSecurityEnvelopeAreRefused(t *testing.T) {
	for _, c := range []struct{ key, value, want string }{
		{"sidecars", `[{"name":"agent","image":"a:1","securityContext":{"privileged":true}}]`, "breaks Pod Security restricted"},
		{"sidecars", `[{"name":"agent","image":"a:1","securityContext":{"capabilities":{"add":["NET_ADMIN"]}}}]`, "breaks Pod Security restricted"},
		{"sidecars", `[{"name":"agent","image":"a:1","securityContext":{"runAsUser":0}}]`, "breaks Pod Security restricted"},
		{"sidecars", `[{"name":"agent","image":"a:1","ports":[{"containerPort":80,"hostPort":80}]}]`, "breaks Pod Security restricted"},
		{"initContainers", `[{"name":"setup","image":"a:1","securityContext":{"allowPrivilegeEscalation":true}}]`, "breaks Pod Security restricted"},
		{"sidecars", `[{"name":"backstage","image":"a:1"}]`, "which the program's pod uses"},
		{"sidecars", `[{"name":"Agent","image":"a:1"}]`, "is not a container name"},
		{"sidecars", `[{"name":"agent"}]`, "has no image"},
		{"sidecars", `[{"name":"agent","image":"a:1","restartPolicy":"Always"}]`, "sets restartPolicy"},
		{"initContainers", `[{"name":"setup","image":"a:1","readinessProbe":{"tcpSocket":{"port":80}}}]`, "list it under sidecars"},
		{"sidecars", `[{"name":"agent","image":"a:1","imagee":"typo"}]`, `unknown field "imagee"`},
		{"extraVolumes", `[{"name":"node","hostPath":{"path":"/var/run"}}]`, "is a hostPath"},
		{"extraVolumes", `[{"name":"disk","gcePersistentDisk":{"pdName":"d"}}]`, "is a gcePersistentDisk volume; use one of"},
		{"extraVolumes", `[{"name":"two","emptyDir":{},"secret":{"secretName":"s"}}]`, "sets 2 sources"},
		{"extraVolumes", `[{"name":"tmp","emptyDir":{}}]`, "which the program's pod uses"},
		{"extraVolumes", `[{"name":"a","emptyDir":{}},{"name":"a","emptyDir":{}}]`, "two volumes named a"},
		{"extraVolumeMounts", `[{"name":"x","mountPath":"/app"}]`, "would hide Backstage's code"},
		{"extraVolumeMounts", `[{"name":"x","mountPath":"/tmp/x"}]`, "overlaps the program's mount /tmp"},
		{"extraVolumeMounts", `[{"name":"x","mountPath":"relative"}]`, "use an absolute, clean path"},
		{"extraVolumeMounts", `[{"name":"x","mountPath":"/x","mountPropagation":"Bidirectional"}]`, "needs a privileged container"},
		{"extraVolumeMounts", `[{"name":"missing","mountPath":"/var/x"}]`, "is not a volume of extraVolumes"},
		{"envFromSecrets", `["backstage-secrets"]`, "which the program writes itself"},
		{"envFromSecrets", `["Not_A_Name"]`, "is not a Secret name"},
		{"envFromConfigMaps", `["a","a"]`, "lists a twice"},
		{"topologySpreadConstraints", `[{"maxSkew":0,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule"}]`, "has maxSkew 0"},
		{"topologySpreadConstraints", `[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"Sometimes"}]`, "use DoNotSchedule or ScheduleAnyway"},
		{"probes", `{"liveness":{"timeoutSeconds":30,"periodSeconds":10}}`, "is longer than its periodSeconds"},
		{"probes", `{"startup":{"failureThreshold":1000}}`, "startup.failureThreshold is 1000"},
		{"sidecars", `[{"name":"agent","image":"a:1","resources":{"limits":{"memory":"64"}}}]`, "container agent: resources.limits.memory 64 is under a mebibyte"},
		{"initContainers", `[{"name":"setup","image":"a:1","resources":{"requests":{"memory":"512"}}}]`, "container setup: resources.requests.memory 512 is under a mebibyte"},
	} {
		rec, err := run(t, loadStack(t, "kind").with(c.key, c.value))
		require.Error(t, err, "%s %s", c.key, c.value)
		assert.Contains(t, err.Error(), "backstage:"+c.key+": ", "%s %s names its key", c.key, c.value)
		assert.Contains(t, err.Error(), c.want, "%s %s", c.key, c.value)
		assert.Empty(t, rec.Registrations(), "nothing is registered")
	}
}
