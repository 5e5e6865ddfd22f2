package kube

import (
	"fmt"
	"reflect"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// groupVersions maps the Go packages of the API types the program registers to their
// group and version; a type from any other package is refused when registered.
var groupVersions = map[string]schema.GroupVersion{
	reflect.TypeFor[corev1.Secret]().PkgPath():                                     corev1.SchemeGroupVersion,
	reflect.TypeFor[appsv1.Deployment]().PkgPath():                                 appsv1.SchemeGroupVersion,
	reflect.TypeFor[batchv1.Job]().PkgPath():                                       batchv1.SchemeGroupVersion,
	reflect.TypeFor[autoscalingv2.HorizontalPodAutoscaler]().PkgPath():             autoscalingv2.SchemeGroupVersion,
	reflect.TypeFor[admissionregistrationv1.ValidatingAdmissionPolicy]().PkgPath(): admissionregistrationv1.SchemeGroupVersion,
	reflect.TypeFor[networkingv1.NetworkPolicy]().PkgPath():                        networkingv1.SchemeGroupVersion,
	reflect.TypeFor[policyv1.PodDisruptionBudget]().PkgPath():                      policyv1.SchemeGroupVersion,
	reflect.TypeFor[rbacv1.ClusterRole]().PkgPath():                                rbacv1.SchemeGroupVersion,
}

// sdkKind is what the SDK's typed constructor for a token adds to a registration
// besides the inputs: the aliases of the kind's older API versions (so that a
// resource made under one of them is adopted, not replaced) and the outputs it marks
// secret. TestRegistrationsMatchTheSDKsTypedConstructors holds each entry to the
// constructor of pulumi-kubernetes the tests link.
type sdkKind struct {
	aliases       []string
	secretOutputs []string
}

// builtins are the built-in kinds the program registers, by type token. A built-in
// kind missing here is refused, so that the parity test covers every one registered.
var builtins = map[string]sdkKind{
	"kubernetes:core/v1:ConfigMap":                  {},
	"kubernetes:core/v1:Namespace":                  {},
	"kubernetes:core/v1:PersistentVolumeClaim":      {},
	"kubernetes:core/v1:PersistentVolumeClaimPatch": {},
	"kubernetes:core/v1:Secret":                     {secretOutputs: []string{"data", "stringData"}},
	"kubernetes:core/v1:Service":                    {},
	"kubernetes:core/v1:ServiceAccount":             {},
	"kubernetes:apps/v1:Deployment": {aliases: []string{
		"kubernetes:apps/v1beta1:Deployment", "kubernetes:apps/v1beta2:Deployment", "kubernetes:extensions/v1beta1:Deployment"}},
	"kubernetes:apps/v1:StatefulSet": {aliases: []string{
		"kubernetes:apps/v1beta1:StatefulSet", "kubernetes:apps/v1beta2:StatefulSet"}},
	"kubernetes:batch/v1:CronJob": {aliases: []string{"kubernetes:batch/v1beta1:CronJob", "kubernetes:batch/v2alpha1:CronJob"}},
	"kubernetes:batch/v1:Job":     {},
	"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy": {aliases: []string{
		"kubernetes:admissionregistration.k8s.io/v1alpha1:ValidatingAdmissionPolicy", "kubernetes:admissionregistration.k8s.io/v1beta1:ValidatingAdmissionPolicy"}},
	"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding": {aliases: []string{
		"kubernetes:admissionregistration.k8s.io/v1alpha1:ValidatingAdmissionPolicyBinding", "kubernetes:admissionregistration.k8s.io/v1beta1:ValidatingAdmissionPolicyBinding"}},
	"kubernetes:autoscaling/v2:HorizontalPodAutoscaler": {aliases: []string{"kubernetes:autoscaling/v1:HorizontalPodAutoscaler",
		"kubernetes:autoscaling/v2beta1:HorizontalPodAutoscaler", "kubernetes:autoscaling/v2beta2:HorizontalPodAutoscaler"}},
	"kubernetes:networking.k8s.io/v1:Ingress": {aliases: []string{
		"kubernetes:extensions/v1beta1:Ingress", "kubernetes:networking.k8s.io/v1beta1:Ingress"}},
	"kubernetes:networking.k8s.io/v1:NetworkPolicy": {aliases: []string{"kubernetes:extensions/v1beta1:NetworkPolicy"}},
	"kubernetes:policy/v1:PodDisruptionBudget":      {aliases: []string{"kubernetes:policy/v1beta1:PodDisruptionBudget"}},
	"kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": {aliases: []string{
		"kubernetes:rbac.authorization.k8s.io/v1alpha1:ClusterRole", "kubernetes:rbac.authorization.k8s.io/v1beta1:ClusterRole"}},
	"kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": {aliases: []string{
		"kubernetes:rbac.authorization.k8s.io/v1alpha1:ClusterRoleBinding", "kubernetes:rbac.authorization.k8s.io/v1beta1:ClusterRoleBinding"}},
}

// objectKind is the apiVersion and kind of a k8s.io/api struct, or a Custom object's own.
func objectKind(obj any) (apiVersion, kind string, err error) {
	if custom, ok := obj.(*Custom); ok {
		if custom.APIVersion == "" || custom.Kind == "" {
			return "", "", fmt.Errorf("a custom object needs APIVersion and Kind")
		}
		return custom.APIVersion, custom.Kind, nil
	}
	t := reflect.TypeOf(obj)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return "", "", fmt.Errorf("%T is not a pointer to an API object", obj)
	}
	gv, ok := groupVersions[t.Elem().PkgPath()]
	if !ok {
		return "", "", fmt.Errorf("%T is of an API group the program does not register", obj)
	}
	return gv.String(), t.Elem().Name(), nil
}

// TypeToken is the pulumi-kubernetes type token: the core group is spelled "core".
func TypeToken(apiVersion, kind string) string {
	if !strings.Contains(apiVersion, "/") {
		apiVersion = "core/" + apiVersion
	}
	return "kubernetes:" + apiVersion + ":" + kind
}
