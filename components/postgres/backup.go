package postgres

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/pins"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// Kubernetes names of the backups, which the restore runbook and `make restore` use.
const (
	BackupClaimName   = "backstage-backups"
	BackupCronJobName = "backstage-backup"
	RestoreJobName    = "backstage-restore"
	backupDir         = "/backups"
	databaseCADir     = "/etc/backstage/database-ca"
)

// BackupArgs configures the database backups.
type BackupArgs struct {
	// Required: the namespace of the database's clients.
	Namespace pulumi.StringInput
	// Optional: defaults to DefaultBackupSchedule. A cron schedule, in the cluster's time zone.
	Schedule string
	// Optional: defaults to DefaultBackupRetention. Complete backups kept on the claim.
	Retention int
	// Optional: defaults to DefaultBackupSize. The backup claim's size.
	Size string
	// Optional: defaults to the cluster's default StorageClass.
	StorageClass string
	// Optional: an existing claim to write to instead of a claim of the program's.
	ExistingClaim string
	// Required: the database and the role the backups log in as.
	Database backstage.DatabaseConnection
	// Required: an image whose pg_dump is at least the server's major.
	Image string
	// Optional: node selector, tolerations and priority class of the pods.
	Scheduling workload.Scheduling
	// Optional: an S3-compatible bucket the dumps stream to instead of a claim, kept
	// there RetentionDays (the claim's fields do nothing then). Its Prefix is required.
	ObjectStore *ObjectStore
	// Optional: defaults to pins.RcloneImage. The image rclone is copied from, with
	// ObjectStore.
	RcloneImage string
}

// Backups are a CronJob that dumps every Backstage database into a retained claim (or
// a bucket), and a suspended CronJob that restores one backup when started by hand.
type Backups struct {
	pulumi.ResourceState

	ClaimName   pulumi.StringOutput `pulumi:"claimName"`
	CronJobName pulumi.StringOutput `pulumi:"cronJobName"`
}

func (a *BackupArgs) withDefaults() (BackupArgs, error) {
	switch {
	case a == nil || a.Namespace == nil:
		return BackupArgs{}, errors.New("missing required field Namespace")
	case a.Database.Host == nil || a.Database.User == nil || a.Database.Password == nil:
		return BackupArgs{}, errors.New("missing required field Database (Host, User and Password)")
	case a.Image == "":
		return BackupArgs{}, errors.New("missing required field Image")
	}
	out := *a
	out.Schedule = workload.OrDefault(out.Schedule, DefaultBackupSchedule)
	out.Retention = workload.OrDefault(out.Retention, DefaultBackupRetention)
	out.Size = workload.OrDefault(out.Size, DefaultBackupSize)
	out.Database.Port = workload.OrDefault(out.Database.Port, names.PostgresPort)
	if err := CheckBackupRetention(out.Retention); err != nil {
		return BackupArgs{}, fmt.Errorf("field Retention %w", err)
	}
	if err := CheckBackupSize(out.Size); err != nil {
		return BackupArgs{}, fmt.Errorf("field Size %w", err)
	}
	if out.ObjectStore != nil {
		store := out.ObjectStore.withDefaults()
		if err := store.Check(); err != nil {
			return BackupArgs{}, fmt.Errorf("field ObjectStore %w", err)
		}
		if store.Prefix == "" || store.RestoreFrom != "" {
			return BackupArgs{}, errors.New("field ObjectStore needs a Prefix of its own (one folder per stack) and no RestoreFrom, which only a server's first start reads")
		}
		out.ObjectStore = &store
		out.RcloneImage = workload.OrDefault(out.RcloneImage, pins.RcloneImage)
	}
	return out, nil
}

// NewBackups registers the claim (or the bucket's CA bundle and identity), the CA
// bundle for TLS to an external database, and the backup and restore CronJobs.
func NewBackups(ctx *pulumi.Context, name string, in *BackupArgs, opts ...pulumi.ResourceOption) (*Backups, error) {
	args, err := in.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("component Backups %q: %w", name, err)
	}
	comp := &Backups{}
	if err := ctx.RegisterComponentResource("backstage:index:Backups", name, comp, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(comp)

	credentials, err := kube.New(ctx, name+"-credentials", func(refs *kube.Refs) any { return backupCredentials(refs, args) }, child)
	if err != nil {
		return nil, err
	}
	inputs := cronJobInputs{passwordSecret: credentials.Name()}
	if args.Database.CABundle != "" {
		ca, err := kube.New(ctx, name+"-database-ca", func(refs *kube.Refs) any { return databaseCA(refs, args) }, child)
		if err != nil {
			return nil, err
		}
		inputs.caName = ca.Name()
	}
	// The dumps go to a claim, or stream to the bucket (bucket_dumps.go).
	cronJob, backupRun, restoreRun := databaseCronJob, backupScript, restoreScript
	claimName := pulumi.String(args.ExistingClaim).ToStringOutput()
	if args.ObjectStore != nil {
		if inputs.objectStore, err = registerObjectStoreInputs(ctx, name, args.Namespace, args.ObjectStore, names.DatabaseClientSelector, child); err != nil {
			return nil, err
		}
		cronJob, backupRun, restoreRun = bucketCronJob, dumpToBucketScript, restoreFromBucketScript
	} else if args.ExistingClaim == "" {
		// The backups outlive the stack, as the data they copy does.
		claim, err := kube.New(ctx, name+"-claim", func(refs *kube.Refs) any { return backupClaim(refs, args) }, child, pulumi.RetainOnDelete(true))
		if err != nil {
			return nil, err
		}
		claimName = claim.Name()
	}
	inputs.claimName = claimName
	backup, err := kube.New(ctx, name+"-cronjob", func(refs *kube.Refs) any {
		return cronJob(refs, args, BackupCronJobName, backupRun, false, inputs)
	}, child)
	if err != nil {
		return nil, err
	}
	if _, err := kube.New(ctx, name+"-restore", func(refs *kube.Refs) any {
		return cronJob(refs, args, RestoreJobName, restoreRun, true, inputs)
	}, child); err != nil {
		return nil, err
	}

	comp.ClaimName = claimName
	comp.CronJobName = backup.Name()
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"claimName":   comp.ClaimName,
		"cronJobName": comp.CronJobName,
	})
}

// backupCredentials is the Secret of the password the backups log in with.
func backupCredentials(refs *kube.Refs, args BackupArgs) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: workload.ObjectMeta(refs, BackupCronJobName+"-credentials", args.Namespace, names.DatabaseClientSelector, nil),
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{"password": refs.String(pulumi.ToSecret(args.Database.Password).(pulumi.StringOutput))},
	}
}

// databaseCA is the external database's CA bundle, for verify-ca and verify-full.
func databaseCA(refs *kube.Refs, args BackupArgs) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: workload.ObjectMeta(refs, BackupCronJobName+"-database-ca", args.Namespace, names.DatabaseClientSelector, nil),
		Data:       map[string]string{names.CABundleKey: args.Database.CABundle},
	}
}

// databaseEnv is libpq's environment: the connection, and its TLS when the database has one.
func databaseEnv(refs *kube.Refs, args BackupArgs, in cronJobInputs) []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: "PGHOST", Value: refs.String(args.Database.Host)},
		{Name: "PGPORT", Value: strconv.Itoa(args.Database.Port)},
		{Name: "PGUSER", Value: refs.String(args.Database.User)},
		{Name: "PGDATABASE", Value: names.PostgresDatabase},
		secretEnv(refs, "PGPASSWORD", in.passwordSecret),
	}
	if args.Database.SSLMode != "" {
		env = append(env, corev1.EnvVar{Name: "PGSSLMODE", Value: args.Database.SSLMode})
	}
	if in.caName != nil {
		env = append(env, corev1.EnvVar{Name: "PGSSLROOTCERT", Value: databaseCADir + "/" + names.CABundleKey})
	}
	return env
}

// databaseCAVolumes are the database CA bundle's volume and mount, when there is one.
func databaseCAVolumes(refs *kube.Refs, in cronJobInputs) ([]corev1.Volume, []corev1.VolumeMount) {
	if in.caName == nil {
		return nil, nil
	}
	return []corev1.Volume{workload.ConfigMapVolume(refs, "database-ca", in.caName)},
		[]corev1.VolumeMount{workload.ReadOnlyMount("database-ca", databaseCADir)}
}

func backupClaim(refs *kube.Refs, args BackupArgs) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: workload.ObjectMeta(refs, BackupClaimName, args.Namespace, names.DatabaseClientSelector, map[string]string{workload.SkipAwaitAnnotation: "true"}),
		Spec:       workload.ReadWriteOnceClaim(args.Size, args.StorageClass),
	}
}

// databaseCronJob runs a script with libpq's environment and the backup claim: the
// backup on its schedule, one run at a time; the restore suspended, started by hand.
// cronJobInputs are what the CronJobs take from the objects registered before them.
type cronJobInputs struct {
	claimName, caName, passwordSecret pulumi.StringInput
	// objectStore is the bucket's CA bundle and identity, with ObjectStore.
	objectStore objectStoreInputs
}

func databaseCronJob(refs *kube.Refs, args BackupArgs, name, script string, suspended bool, in cronJobInputs) *batchv1.CronJob {
	env := append(databaseEnv(refs, args, in),
		corev1.EnvVar{Name: "BACKUP_DIR", Value: backupDir},
		corev1.EnvVar{Name: "RETENTION", Value: strconv.Itoa(args.Retention)})
	caVolumes, caMounts := databaseCAVolumes(refs, in)
	volumes := append([]corev1.Volume{
		{Name: "backups", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: refs.String(in.claimName)}}},
		workload.ScratchVolume("tmp", "64Mi"),
	}, caVolumes...)
	mounts := append([]corev1.VolumeMount{workload.VolumeMount("backups", backupDir), workload.VolumeMount("tmp", "/tmp")}, caMounts...)
	return databaseClient{
		name: name, image: args.Image, script: script, env: env,
		volumes: volumes, mounts: mounts, scheduling: args.Scheduling,
		resources: workload.ContainerResources{
			CPU: "100m", Memory: "128Mi", Ephemeral: "16Mi",
			CPULimit: "1", MemoryLimit: "512Mi", EphemeralLimit: "64Mi",
		},
	}.cronJob(refs, name, args.Namespace, args.Schedule, suspended)
}
