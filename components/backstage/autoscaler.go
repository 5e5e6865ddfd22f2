package backstage

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// autoscaler is the HorizontalPodAutoscaler that owns the Deployment's replicas: the
// Deployment then leaves spec.replicas out, so that an up neither resets what the
// autoscaler chose nor shows it as drift.
func autoscaler(refs *kube.Refs, spec backstageSpec) *autoscalingv2.HorizontalPodAutoscaler {
	a := spec.Autoscaling
	var metrics []autoscalingv2.MetricSpec
	for _, target := range []struct {
		resource corev1.ResourceName
		percent  int
	}{{corev1.ResourceCPU, a.TargetCPUUtilizationPercentage}, {corev1.ResourceMemory, a.TargetMemoryUtilizationPercentage}} {
		if target.percent == 0 {
			continue
		}
		metrics = append(metrics, autoscalingv2.MetricSpec{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{
				Name:   target.resource,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(target.percent))},
			},
		})
	}
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: workload.ObjectMeta(refs, names.BackstageName, spec.Namespace, names.BackstageSelector, nil),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: names.BackstageName},
			MinReplicas:    ptr.To(int32(a.MinReplicas)),
			MaxReplicas:    int32(a.MaxReplicas),
			Metrics:        metrics,
			// Backstage takes a minute to start and its load comes in bursts (catalog
			// refreshes): scale down only after ten quiet minutes.
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](600)},
			},
		},
	}
}
