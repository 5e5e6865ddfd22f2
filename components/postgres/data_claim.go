package postgres

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/arhean/backstage-pulumi/internal/kube"
)

// The data claim is made once, by the StatefulSet controller from the claim template,
// and Kubernetes refuses any change of a StatefulSet's claim templates: the program
// ignores changes to them, so the StatefulSet keeps the template the claim was made
// from. A change of size or class in the stack is compared with that template
// instead of passing silently: a larger size resizes the claim (where its class
// allows expansion: the API server refuses it otherwise, at the preview's dry run), a
// smaller one and another class are refused with the fix.

// claimChange is what a stack's size and class ask of an existing data claim.
type claimChange int

const (
	claimKept claimChange = iota
	claimGrown
)

// compareDataClaim compares the stack's size and class with the claim template the
// StatefulSet holds (its spec as the API server reports it). A template it cannot
// read (a StatefulSet still to be made, in a preview) is kept.
func compareDataClaim(spec postgresSpec, statefulSet map[string]any) (claimChange, error) {
	template, ok := firstClaimTemplate(statefulSet)
	if !ok {
		return claimKept, nil
	}
	made := ptr.Deref(template.StorageClassName, "")
	if made != spec.StorageClass {
		return claimKept, fmt.Errorf("backstage:postgresStorageClass is %s, but the database's claim was made from %s, and a claim never changes class; "+
			"set it back to %s (docs/operations.md: The database volume says how to move the data to another class)",
			className(spec.StorageClass), className(made), classValue(made))
	}
	was, ok := template.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return claimKept, nil
	}
	asked := resource.MustParse(spec.StorageSize)
	switch asked.Cmp(was) {
	case -1:
		return claimKept, fmt.Errorf("backstage:postgresStorageSize is %s, smaller than the database's claim (%s), and a volume never shrinks; set it to %s or more",
			spec.StorageSize, was.String(), was.String())
	case 1:
		return claimGrown, nil
	}
	return claimKept, nil
}

// firstClaimTemplate reads the data claim's template out of the StatefulSet's spec as
// the engine holds it; false while there is none (or it cannot be read).
func firstClaimTemplate(statefulSet map[string]any) (corev1.PersistentVolumeClaimSpec, bool) {
	var set appsv1.StatefulSetSpec
	err := runtime.DefaultUnstructuredConverter.FromUnstructured(map[string]any{"volumeClaimTemplates": statefulSet["volumeClaimTemplates"]}, &set)
	if err != nil || len(set.VolumeClaimTemplates) == 0 {
		return corev1.PersistentVolumeClaimSpec{}, false
	}
	return set.VolumeClaimTemplates[0].Spec, true
}

func className(class string) string {
	if class == "" {
		return "the cluster's default class"
	}
	return "class " + class
}

func classValue(class string) string {
	if class == "" {
		return "nothing (`pulumi config rm backstage:postgresStorageClass`)"
	}
	return class
}

// DataClaimName is the claim the StatefulSet controller makes for a server's pod.
func DataClaimName(server string) string { return "data-" + server + "-0" }

// dataClaimResize is the patch that grows a server's claim to the stack's size.
func dataClaimResize(refs *kube.Refs, spec postgresSpec, server postgresServer) *kube.Patch {
	return &kube.Patch{Object: &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{
			Name: DataClaimName(server.name), Namespace: refs.String(spec.Namespace),
			// The StatefulSet controller made the claim and owns its size.
			Annotations: map[string]string{"pulumi.com/patchForce": "true"},
		},
		Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(spec.StorageSize)},
		}},
	}}
}

// watchDataClaim compares the stack with the claim the server's StatefulSet was made
// with, once its spec is known, and registers the resize a larger size asks for. Its
// output fails with the fix when the stack asks what the claim cannot take; the
// component registers it as an output, so that the preview and the up fail with it.
func watchDataClaim(ctx *pulumi.Context, prefix string, spec postgresSpec, server postgresServer, statefulSet *kube.Object,
	child pulumi.ResourceOption) pulumi.StringOutput {
	return statefulSet.Spec.ApplyT(func(live map[string]any) (string, error) {
		change, err := compareDataClaim(spec, live)
		if err != nil {
			return "", err
		}
		if change == claimGrown {
			if _, err := kube.New(ctx, prefix+"-data-resize", func(refs *kube.Refs) any { return dataClaimResize(refs, spec, server) },
				child, pulumi.DependsOn([]pulumi.Resource{statefulSet}),
				// Letting the patch go gives up its field; it never shrinks the claim.
				pulumi.RetainOnDelete(true)); err != nil {
				return "", err
			}
		}
		return DataClaimName(server.name), nil
	}).(pulumi.StringOutput)
}
