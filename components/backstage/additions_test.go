package backstage

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// The final template is judged as a whole, whatever passed the field checks: a
// sidecar that reached the spec with privilege is refused.
func TestThePodTemplateIsJudgedWithItsAdditions(t *testing.T) {
	spec, err := minimalBackstage().withDefaults()
	require.NoError(t, err)
	require.NoError(t, checkPodTemplate(spec), "the program's own pod is restricted")

	spec.Sidecars = []corev1.Container{{Name: "agent", Image: "a:1", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}
	err = checkPodTemplate(spec)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "privileged")

	spec.Sidecars = nil
	spec.ExtraVolumes = []corev1.Volume{{Name: "node", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	err = checkPodTemplate(spec)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hostPath")
}

// NewBackstage refuses what the stack's keys refuse, naming the field.
func TestNewBackstageRefusesAHostPathVolume(t *testing.T) {
	args := minimalBackstage()
	args.ExtraVolumes = []corev1.Volume{{Name: "node", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	_, err := args.withDefaults()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "field ExtraVolumes volume node is a hostPath")
}
