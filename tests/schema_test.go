package tests

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	admissionv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/admissionregistration/v1"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
)

// sdkArgs are the pulumi-kubernetes SDK's typed args by type token. The program builds
// k8s.io/api structs and registers them by token, so that it does not link these
// packages (issue #10); the tests link them to hold the program to the SDK's schema.
var sdkArgs = map[string]interface{ ElementType() reflect.Type }{
	"kubernetes:core/v1:ConfigMap":                                                corev1.ConfigMapArgs{},
	"kubernetes:core/v1:Namespace":                                                corev1.NamespaceArgs{},
	"kubernetes:core/v1:PersistentVolumeClaim":                                    corev1.PersistentVolumeClaimArgs{},
	"kubernetes:core/v1:Secret":                                                   corev1.SecretArgs{},
	"kubernetes:core/v1:Service":                                                  corev1.ServiceArgs{},
	"kubernetes:core/v1:ServiceAccount":                                           corev1.ServiceAccountArgs{},
	"kubernetes:apps/v1:Deployment":                                               appsv1.DeploymentArgs{},
	"kubernetes:apps/v1:StatefulSet":                                              appsv1.StatefulSetArgs{},
	"kubernetes:batch/v1:CronJob":                                                 batchv1.CronJobArgs{},
	"kubernetes:batch/v1:Job":                                                     batchv1.JobArgs{},
	"kubernetes:networking.k8s.io/v1:Ingress":                                     networkingv1.IngressArgs{},
	"kubernetes:networking.k8s.io/v1:NetworkPolicy":                               networkingv1.NetworkPolicyArgs{},
	"kubernetes:policy/v1:PodDisruptionBudget":                                    policyv1.PodDisruptionBudgetArgs{},
	"kubernetes:rbac.authorization.k8s.io/v1:ClusterRole":                         rbacv1.ClusterRoleArgs{},
	"kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding":                  rbacv1.ClusterRoleBindingArgs{},
	"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy":        admissionv1.ValidatingAdmissionPolicyArgs{},
	"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding": admissionv1.ValidatingAdmissionPolicyBindingArgs{},
	"kubernetes:autoscaling/v2:HorizontalPodAutoscaler":                           autoscalingv2.HorizontalPodAutoscalerArgs{},
}

// customResourceGroups are the CRDs' groups, for which the SDK has no schema either.
var customResourceGroups = map[string]bool{"cert-manager.io": true, "gateway.networking.k8s.io": true, "monitoring.coreos.com": true}

// Every input the program sends for a built-in kind is a field of the SDK's args for
// that token, of the SDK's type: a misspelt field, a status, or a number where the
// schema has a string would otherwise reach the provider unnoticed.
func TestEveryObjectsInputsFitTheSDKSchema(t *testing.T) {
	checked := map[string]bool{}
	for _, cfg := range schemaVariants(t) {
		rec := mustRun(t, cfg)
		for _, res := range rec.Registrations() {
			if !strings.HasPrefix(res.Type, "kubernetes:") || !res.Custom || strings.HasPrefix(res.Type, "kubernetes:helm.sh/") {
				continue
			}
			args, ok := sdkArgs[res.Type]
			if !ok {
				group, _, _ := strings.Cut(strings.Split(res.Type, ":")[1], "/")
				assert.True(t, customResourceGroups[group], "%s (%s): a kind the test has no SDK args for; add them to sdkArgs", res.Name, res.Type)
				continue
			}
			checked[res.Type] = true
			for _, problem := range schemaProblems("", resource.NewObjectProperty(res.Inputs), args.ElementType()) {
				t.Errorf("%s %s (%s): %s", cfg.name, res.Name, res.Type, problem)
			}
		}
	}
	for token := range sdkArgs {
		assert.True(t, checked[token], "no stack registers a %s: the test checks nothing for it", token)
	}
}

// The check itself: a field the SDK does not have, and a value of another kind, are
// reported.
func TestSchemaProblemsFindsUnknownFieldsAndWrongKinds(t *testing.T) {
	inputs := resource.NewPropertyMapFromMap(map[string]any{
		"metadata": map[string]any{"name": "app", "labels": map[string]any{"a": "b"}},
		"spec": map[string]any{
			"replicas":        "two",
			"minReadySeconds": 2.5,
			"template":        map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "imagePullPolicy": 1}}}},
			"strategy":        map[string]any{"rollingUpdate": map[string]any{"maxSurge": "25%"}},
		},
		"status": map[string]any{},
	})
	problems := schemaProblems("", resource.NewObjectProperty(inputs), appsv1.DeploymentArgs{}.ElementType())
	assert.ElementsMatch(t, []string{
		"status: no such field",
		"spec.replicas: string where the SDK has int",
		"spec.minReadySeconds: a fraction where the SDK has int",
		"spec.template.spec.containers[0].imagePullPolicy: number where the SDK has string",
	}, problems)
}

func schemaVariants(t *testing.T) []stackConfig {
	var out []stackConfig
	for _, stack := range []string{"local", "dev", "prod", "kind", "realnode"} {
		out = append(out, loadStack(t, stack))
	}
	local := loadStack(t, "local")
	out = append(out,
		local.with("metrics", `{"scraperNamespace":"monitoring","serviceMonitor":true}`).
			with("tolerations", `[{"key":"dedicated","operator":"Equal","value":"backstage","effect":"NoExecute","tolerationSeconds":30}]`).
			with("nodeSelector", `{"node-pool":"apps"}`).with("priorityClassName", "platform-critical").
			with("imagePullSecrets", `["ghcr-pull"]`).withSecret("registryAuth", `{"server":"ghcr.io","username":"bot","password":"pw"}`).
			with("backup", `{"schedule":"17 3 * * *","retention":3,"size":"1Gi"}`),
		local.with("postgresUpgrade", `{"from":14}`).with("postgresMajorVersion", "18").with("postgresImage", "postgres:18.1"),
		// The platform's additions (#24), each in Kubernetes' own shape.
		local.with("replicas", "2").with("autoscaling", `{"minReplicas":2,"maxReplicas":3,"targetCPUUtilizationPercentage":70}`).
			with("envFromSecrets", `["backstage-github"]`).with("envFromConfigMaps", `["platform"]`).
			with("extraVolumes", `[{"name":"techdocs","persistentVolumeClaim":{"claimName":"techdocs"}},{"name":"shared","emptyDir":{"medium":"Memory"}}]`).
			with("extraVolumeMounts", `[{"name":"techdocs","mountPath":"/var/techdocs"}]`).
			with("sidecars", `[{"name":"agent","image":"hashicorp/vault:1.18.3","args":["agent"],"volumeMounts":[{"name":"shared","mountPath":"/vault/secrets"}],"resources":{"limits":{"memory":"64Mi"}}}]`).
			with("initContainers", `[{"name":"setup","image":"busybox:1.36.1","command":["true"]}]`).
			with("affinity", `{"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":1,"preference":{"matchExpressions":[{"key":"pool","operator":"In","values":["apps"]}]}}]}}`).
			with("topologySpreadConstraints", `[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"ScheduleAnyway"}]`).
			with("probes", `{"startup":{"failureThreshold":60}}`).
			with("egressRules", `[{"cidrs":["10.1.2.0/24"],"ports":[{"port":8200,"endPort":8210,"protocol":"TCP"}]},{"namespace":"cache","podSelector":{"matchLabels":{"app":"redis"}},"ports":[{"port":6379}]}]`),
	)
	return out
}

// schemaKinds is the property kind each Go kind of the SDK's plain types takes.
var schemaKinds = map[reflect.Kind]string{
	reflect.String: "string", reflect.Int: "number", reflect.Float64: "number", reflect.Bool: "bool",
	reflect.Struct: "object", reflect.Map: "object", reflect.Slice: "[]",
}

func schemaProblems(path string, v resource.PropertyValue, t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case v.IsSecret():
		return schemaProblems(path, v.SecretValue().Element, t)
	case v.IsOutput():
		if !v.OutputValue().Known {
			return nil
		}
		return schemaProblems(path, v.OutputValue().Element, t)
	case v.IsComputed() || v.IsNull() || t.Kind() == reflect.Interface: // IntOrString is interface{}
		return nil
	}
	at := strings.TrimPrefix(path, ".")
	want, known := schemaKinds[t.Kind()]
	switch {
	case !known:
		return []string{fmt.Sprintf("%s: the test does not know the SDK's %s", at, t)}
	case v.TypeString() != want:
		return []string{fmt.Sprintf("%s: %s where the SDK has %s", at, v.TypeString(), t)}
	case t.Kind() == reflect.Int && v.NumberValue() != float64(int64(v.NumberValue())):
		return []string{fmt.Sprintf("%s: a fraction where the SDK has int", at)}
	}
	var problems []string
	switch t.Kind() {
	case reflect.Struct:
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("pulumi"), ",")
			fields[name] = t.Field(i).Type
		}
		for key, field := range v.ObjectValue() {
			ft, ok := fields[string(key)]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: no such field", strings.TrimPrefix(path+"."+string(key), ".")))
				continue
			}
			problems = append(problems, schemaProblems(path+"."+string(key), field, ft)...)
		}
	case reflect.Map:
		for key, entry := range v.ObjectValue() {
			problems = append(problems, schemaProblems(path+"."+string(key), entry, t.Elem())...)
		}
	case reflect.Slice:
		for i, item := range v.ArrayValue() {
			problems = append(problems, schemaProblems(fmt.Sprintf("%s[%d]", path, i), item, t.Elem())...)
		}
	}
	return problems
}
