package postgres

import (
	"maps"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// An external database's dumps in the stack's bucket (docs/decisions/0016 says why
// rclone): the postgres image has pg_dump and no S3 client, rclone's image the reverse,
// so an init container copies rclone's static binary into the pod and the postgres
// image's shell pipes pg_dump into it. Nothing is staged on a disk, so no claim is sized.

// toolsDir is where the init container puts rclone.
const toolsDir = "/tools"

// registerBucketDumps registers the CA bundle and the cloud identity the bucket needs,
// the dump CronJob and the suspended restore, under the claim's CronJobs' names.
func registerBucketDumps(ctx *pulumi.Context, name string, args BackupArgs, comp *Backups, child pulumi.ResourceOption) error {
	credentials, err := kube.New(ctx, name+"-credentials", func(refs *kube.Refs) any { return backupCredentials(refs, args) }, child)
	if err != nil {
		return err
	}
	store, err := registerObjectStoreInputs(ctx, name, args.Namespace, args.ObjectStore, names.DatabaseClientSelector, child)
	if err != nil {
		return err
	}
	var caName pulumi.StringInput
	if args.Database.CABundle != "" {
		ca, err := kube.New(ctx, name+"-database-ca", func(refs *kube.Refs) any { return databaseCA(refs, args) }, child)
		if err != nil {
			return err
		}
		caName = ca.Name()
	}
	inputs := cronJobInputs{caName: caName, passwordSecret: credentials.Name()}
	backup, err := kube.New(ctx, name+"-cronjob", func(refs *kube.Refs) any {
		return bucketCronJob(refs, args, BackupCronJobName, dumpToBucketScript, false, inputs, store)
	}, child)
	if err != nil {
		return err
	}
	if _, err := kube.New(ctx, name+"-restore", func(refs *kube.Refs) any {
		return bucketCronJob(refs, args, RestoreJobName, restoreFromBucketScript, true, inputs, store)
	}, child); err != nil {
		return err
	}
	comp.ClaimName = pulumi.String("").ToStringOutput()
	comp.CronJobName = backup.Name()
	return ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"claimName":   comp.ClaimName,
		"cronJobName": comp.CronJobName,
	})
}

// bucketCronJob runs a script with libpq's and rclone's environment: the dump on its
// schedule, the restore suspended, started by `make restore BACKUP=`.
func bucketCronJob(refs *kube.Refs, args BackupArgs, name, script string, suspended bool, in cronJobInputs, store objectStoreInputs) *batchv1.CronJob {
	caFile := ""
	if store.caName != nil {
		caFile = objectStoreCADir + "/" + names.CABundleKey
	}
	settings := args.ObjectStore.RcloneSettings(caFile)
	env := databaseEnv(refs, args, in)
	for _, key := range slices.Sorted(maps.Keys(settings)) {
		env = append(env, corev1.EnvVar{Name: key, Value: settings[key]})
	}
	env = append(env, args.ObjectStore.rcloneSecretEnv()...)
	env = append(env, corev1.EnvVar{Name: "TOOLS", Value: toolsDir})
	volumes, mounts := databaseCAVolumes(refs, in)
	storeVolumes, storeMounts := objectStoreVolumes(refs, store)
	volumes = append(append(volumes, storeVolumes...), workload.ScratchVolume("tmp", "64Mi"), workload.ScratchVolume("tools", "256Mi"))
	mounts = append(append(mounts, storeMounts...), workload.VolumeMount("tmp", "/tmp"), workload.ReadOnlyMount("tools", toolsDir))
	client := databaseClient{
		name: name, image: args.Image, script: script, env: env,
		volumes: volumes, mounts: mounts, scheduling: args.Scheduling,
		resources: workload.ContainerResources{
			CPU: "100m", Memory: "128Mi", Ephemeral: "16Mi",
			// The tools folder's rclone counts against the pod's ephemeral storage.
			CPULimit: "1", MemoryLimit: "512Mi", EphemeralLimit: "384Mi",
		},
		initContainers: []corev1.Container{rcloneCopy(args.RcloneImage)},
	}
	if store.serviceAccountName != nil {
		client.serviceAccountName = refs.String(store.serviceAccountName)
	}
	return client.cronJob(refs, name, args.Namespace, args.Schedule, suspended)
}

// rcloneCopy copies rclone's binary, static in its image, into the tools folder.
func rcloneCopy(image string) corev1.Container {
	return corev1.Container{
		Name:            "rclone",
		Image:           image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{"cp", "/usr/local/bin/rclone", toolsDir + "/rclone"},
		Resources: workload.ContainerResources{
			CPU: "10m", Memory: "16Mi", Ephemeral: "1Mi",
			CPULimit: "100m", MemoryLimit: "64Mi", EphemeralLimit: "16Mi",
		}.Requirements(),
		SecurityContext: workload.ContainerSecurityContext(postgresUID),
		VolumeMounts:    []corev1.VolumeMount{workload.VolumeMount("tools", toolsDir)},
	}
}
