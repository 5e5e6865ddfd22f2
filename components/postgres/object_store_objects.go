package postgres

import (
	"maps"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// The objects of the backups to an object store, one plain function each. Their
// Kubernetes names are the runbooks' (docs/operations.md) and `make restore`'s.
const (
	BaseBackupCronJobName  = "backstage-base-backup"
	PITRRestoreCronJobName = "backstage-pitr-restore"
	FirstBackupJobName     = "backstage-first-base-backup"
	ObjectStoreCAName      = "backstage-object-store-ca"
	// BackupServiceAccountName carries the cloud identity (serviceAccountAnnotations)
	// of the server and the backup pods.
	BackupServiceAccountName = "backstage-backup"
	dataMount                = "/var/lib/postgresql/data"
)

// objectStoreInputs are what the object store's pods take from the objects registered
// before them.
type objectStoreInputs struct {
	// caName is the CA bundle's ConfigMap, serviceAccountName the identity's; nil without.
	caName, serviceAccountName pulumi.StringInput
}

// caFile is where the pods find the endpoint's CA bundle: "" for the system's.
func (in objectStoreInputs) caFile() string {
	if in.caName == nil {
		return ""
	}
	return objectStoreCADir + "/" + names.CABundleKey
}

func objectStoreCA(refs *kube.Refs, namespace pulumi.StringInput, store *ObjectStore, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: workload.ObjectMeta(refs, ObjectStoreCAName, namespace, labels, nil),
		Data:       map[string]string{names.CABundleKey: store.CABundle},
	}
}

// backupServiceAccount gives the pods that reach the bucket the cloud identity of the
// annotations (IRSA's eks.amazonaws.com/role-arn, for one); pgBackRest (repo1-s3-key-type
// web-id) and rclone (env_auth) read the token the identity's webhook mounts. It holds
// no Kubernetes rights.
func backupServiceAccount(refs *kube.Refs, namespace pulumi.StringInput, store *ObjectStore, labels map[string]string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		ObjectMeta:                   workload.ObjectMeta(refs, BackupServiceAccountName, namespace, labels, store.ServiceAccountAnnotations),
		AutomountServiceAccountToken: ptr.To(false),
	}
}

// objectStoreEnv is pgBackRest's environment in the server and the backup pods.
func objectStoreEnv(spec postgresSpec, in objectStoreInputs) []corev1.EnvVar {
	return storeEnv(spec.ObjectStore.Settings(pgdata, in.caFile()), spec.ObjectStore.secretEnv())
}

// storeEnv is a tool's environment for the bucket (pgBackRest's or rclone's): its plain
// settings in a stable order, then the keys and the passphrase from their Secrets.
func storeEnv(settings map[string]string, secrets []corev1.EnvVar) []corev1.EnvVar {
	var env []corev1.EnvVar
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		env = append(env, corev1.EnvVar{Name: name, Value: settings[name]})
	}
	return append(env, secrets...)
}

// objectStoreVolumes are the CA bundle's volume and mount, when there is one.
func objectStoreVolumes(refs *kube.Refs, in objectStoreInputs) ([]corev1.Volume, []corev1.VolumeMount) {
	if in.caName == nil {
		return nil, nil
	}
	return []corev1.Volume{workload.ConfigMapVolume(refs, "object-store-ca", in.caName)},
		[]corev1.VolumeMount{workload.ReadOnlyMount("object-store-ca", objectStoreCADir)}
}

// withObjectStore makes the server archive every WAL segment to the bucket, and, for a
// stack that starts from another's backups, restore that stack's archive on an empty
// volume before its first start.
func withObjectStore(refs *kube.Refs, spec postgresSpec, pod *corev1.PodSpec, in postgresInputs) {
	container := &pod.Containers[0]
	for _, setting := range archiveSettings() {
		container.Args = append(container.Args, "-c", setting)
	}
	env := objectStoreEnv(spec, in.objectStore)
	container.Env = append(container.Env, env...)
	volumes, mounts := objectStoreVolumes(refs, in.objectStore)
	pod.Volumes = append(pod.Volumes, volumes...)
	container.VolumeMounts = append(container.VolumeMounts, mounts...)
	if in.objectStore.serviceAccountName != nil {
		pod.ServiceAccountName = refs.String(in.objectStore.serviceAccountName)
	}
	if spec.ObjectStore.RestoreFrom == "" {
		return
	}
	bootstrap := corev1.Container{
		Name:            "bootstrap-from-bucket",
		Image:           container.Image,
		ImagePullPolicy: container.ImagePullPolicy,
		Command:         []string{"sh", "-c", bootstrapScript},
		Env: append(slices.Clone(container.Env),
			corev1.EnvVar{Name: "RESTORE_FROM", Value: spec.ObjectStore.RestoreFrom},
			corev1.EnvVar{Name: "PITR_RESTORE", Value: pitrRestoreScript}),
		Resources:       container.Resources,
		SecurityContext: container.SecurityContext,
		VolumeMounts:    slices.DeleteFunc(slices.Clone(container.VolumeMounts), func(m corev1.VolumeMount) bool { return m.Name == "init" }),
	}
	pod.InitContainers = append(pod.InitContainers, bootstrap)
}

// objectStoreClient is a pod of pgBackRest beside the server's data: the base backup
// (the server runs: the same node, since the claim is ReadWriteOnce) or the restore (the
// server is stopped). It logs in as the bootstrap superuser, whom pgBackRest's backup
// functions need.
func objectStoreClient(refs *kube.Refs, spec postgresSpec, server postgresServer, in postgresInputs, name, script string, beside bool) databaseClient {
	env := append([]corev1.EnvVar{
		{Name: "PGHOST", Value: refs.String(in.serviceName)},
		{Name: "PGUSER", Value: names.PostgresSuperuser},
		{Name: "PGDATABASE", Value: "postgres"},
		secretEnv(refs, "PGPASSWORD", in.bootstrapSecretName),
	}, objectStoreEnv(spec, in.objectStore)...)
	volumes, mounts := objectStoreVolumes(refs, in.objectStore)
	volumes = append(volumes,
		corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: DataClaimName(server.name)}}},
		workload.ScratchVolume("tmp", "256Mi"))
	mounts = append(mounts, workload.VolumeMount("data", dataMount), workload.VolumeMount("tmp", "/tmp"))
	client := databaseClient{
		name: name, image: server.image, script: script, env: env, volumes: volumes, mounts: mounts,
		scheduling: spec.Scheduling,
		resources: workload.ContainerResources{
			CPU: "100m", Memory: "128Mi", Ephemeral: "16Mi",
			CPULimit: "1", MemoryLimit: "512Mi", EphemeralLimit: "256Mi",
		},
		restartPolicy: "Never",
	}
	if in.objectStore.serviceAccountName != nil {
		client.serviceAccountName = refs.String(in.objectStore.serviceAccountName)
	}
	if beside {
		client.affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: workload.LabelSelector(server.selector), TopologyKey: "kubernetes.io/hostname",
			}},
		}}
	}
	return client
}

// baseBackupCronJob takes a full base backup on the backup schedule; pgBackRest expires
// what the retention no longer needs.
func baseBackupCronJob(refs *kube.Refs, spec postgresSpec, server postgresServer, in postgresInputs) *batchv1.CronJob {
	client := objectStoreClient(refs, spec, server, in, "base-backup", baseBackupScript, true)
	return client.cronJob(refs, BaseBackupCronJobName, spec.Namespace, spec.BackupSchedule, false)
}

// pitrRestoreCronJob is suspended: `make restore TIME=` starts a Job from it, with
// TARGET_TIME or BACKUP, while the server is scaled to zero.
func pitrRestoreCronJob(refs *kube.Refs, spec postgresSpec, server postgresServer, in postgresInputs) *batchv1.CronJob {
	client := objectStoreClient(refs, spec, server, in, "pitr-restore", pitrRestoreScript, false)
	return client.cronJob(refs, PITRRestoreCronJobName, spec.Namespace, spec.BackupSchedule, true)
}

// firstBackupJob makes the stanza and the first base backup right after the server
// starts archiving: until then each WAL push fails, and nothing can be restored.
func firstBackupJob(refs *kube.Refs, spec postgresSpec, server postgresServer, in postgresInputs) *batchv1.Job {
	client := objectStoreClient(refs, spec, server, in, "base-backup", baseBackupScript, true)
	return client.job(refs, FirstBackupJobName, spec.Namespace, 3)
}
