package postgres

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/pins"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// PostgresArgs configures the Backstage database.
type PostgresArgs struct {
	// Required: the namespace to run in.
	Namespace pulumi.StringInput
	// Optional: defaults to DefaultPostgresMajorVersion. The PostgreSQL major.
	MajorVersion int
	// Optional: defaults to PostgresImages[MajorVersion]. An image of that major.
	Image string
	// Optional: defaults to DefaultStorageSize, at least MinStorageSize. Size of the data
	// volume; fixed once the claim exists.
	StorageSize string
	// Optional: defaults to the cluster's default StorageClass.
	StorageClass string
	// Optional: defaults to DefaultMaxConnections; from MinMaxConnections to MaxMaxConnections.
	MaxConnections int
	// Optional: defaults to DefaultSharedBuffers.
	SharedBuffers string
	// Optional: defaults to DefaultPostgresUser. The owner of the database.
	User string
	// Optional: defaults to a 32-character password generated once and kept in state.
	// The app role's password: a LOGIN CREATEDB role that is not a superuser.
	Password pulumi.StringInput
	// Optional: defaults to a 32-character password generated once and kept in state.
	// The bootstrap superuser's (postgres) password, kept only in its own Secret.
	BootstrapPassword pulumi.StringInput
	// Optional: defaults to DefaultProtectDatabase (true). Refuses to delete the
	// StatefulSet and the generated password until protection is lifted.
	Protect *bool
	// Optional: defaults to DefaultPostgresResources. /dev/shm is half the memory limit,
	// and SharedBuffers must fit it.
	Resources *workload.Resources
	// Optional: node selector, tolerations and priority class of the pod.
	Scheduling workload.Scheduling
	// Optional: a move of the data from another major's server (see PostgresUpgrade).
	Upgrade *PostgresUpgrade
	// Optional: defaults to none. A bucket the server archives every WAL segment to with
	// pgBackRest, with a base backup on BackupSchedule: point-in-time recovery that
	// outlives the cluster. The image must carry pgBackRest; it defaults to
	// pins.PgBackRestImage(MajorVersion).
	ObjectStore *ObjectStore
	// Optional: defaults to DefaultBackupSchedule. When the base backups run, with ObjectStore.
	BackupSchedule string
}

// Postgres is a single-instance PostgreSQL StatefulSet whose volume and password outlive
// every update: its claim is retained on delete and scale-down, the StatefulSet is kept
// on `pulumi destroy`, and the generated password never changes.
type Postgres struct {
	pulumi.ResourceState

	Host       pulumi.StringOutput `pulumi:"host"`
	Port       pulumi.IntOutput    `pulumi:"port"`
	Database   pulumi.StringOutput `pulumi:"database"`
	User       pulumi.StringOutput `pulumi:"user"`
	Password   pulumi.StringOutput `pulumi:"password"`
	SecretName pulumi.StringOutput `pulumi:"secretName"`
	// Server is the StatefulSet Backstage uses.
	Server pulumi.StringOutput `pulumi:"server"`
	// DataClaim is the claim of Server's data, once the stack's size and class are
	// known to fit it (data_claim.go).
	DataClaim pulumi.StringOutput `pulumi:"dataClaim"`

	// StatefulSets are the servers, to wait for: a dependency on the component itself
	// races with its children's registration in the Go SDK.
	StatefulSets []pulumi.Resource
}

// postgresSpec is PostgresArgs with every default filled in.
type postgresSpec struct {
	PostgresArgs
	protect bool
	// current is the server Backstage uses; old, while an upgrade copies, the one the
	// data comes from.
	current postgresServer
	old     *postgresServer
}

// generatedOnce is the given secret, or a password generated once and kept in state:
// no keepers, so nothing ever regenerates it.
func generatedOnce(ctx *pulumi.Context, name string, given pulumi.StringInput, protect bool, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	if given != nil {
		return pulumi.ToSecret(given).(pulumi.StringOutput), nil
	}
	generated, err := random.NewRandomPassword(ctx, name, &random.RandomPasswordArgs{
		Length:  pulumi.Int(32),
		Special: pulumi.Bool(false), // it ends up in a connection string
	}, append(opts, pulumi.Protect(protect))...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return pulumi.ToSecret(generated.Result).(pulumi.StringOutput), nil
}

func (a *PostgresArgs) withDefaults() (postgresSpec, error) {
	if a == nil || a.Namespace == nil {
		return postgresSpec{}, errors.New("missing required field Namespace")
	}
	out := postgresSpec{PostgresArgs: *a, protect: workload.BoolOr(a.Protect, DefaultProtectDatabase)}
	out.MajorVersion = workload.OrDefault(out.MajorVersion, DefaultMajorVersion)
	if err := CheckMajorVersion(out.MajorVersion); err != nil {
		return postgresSpec{}, fmt.Errorf("field MajorVersion %w", err)
	}
	if out.ObjectStore != nil && out.Image == "" {
		out.Image = pins.PgBackRestImage(out.MajorVersion)
	}
	out.Image = Image(out.Image, out.MajorVersion)
	if err := ImageMatchesMajor(out.Image, out.MajorVersion); err != nil {
		return postgresSpec{}, fmt.Errorf("field Image %w", err)
	}
	out.StorageSize = workload.OrDefault(out.StorageSize, DefaultStorageSize)
	out.SharedBuffers = workload.OrDefault(out.SharedBuffers, DefaultSharedBuffers)
	out.User = workload.OrDefault(out.User, DefaultUser)
	out.MaxConnections = workload.OrDefault(out.MaxConnections, DefaultMaxConnections)
	if err := CheckMaxConnections(out.MaxConnections); err != nil {
		return postgresSpec{}, fmt.Errorf("field MaxConnections %w", err)
	}
	if err := CheckStorageSize(out.StorageSize); err != nil {
		return postgresSpec{}, fmt.Errorf("field StorageSize %w", err)
	}
	if err := CheckSharedBuffers(out.SharedBuffers); err != nil {
		return postgresSpec{}, fmt.Errorf("field SharedBuffers %w", err)
	}
	if out.Resources == nil {
		out.Resources = &DefaultResources
	}
	if err := out.Resources.Validate(); err != nil {
		return postgresSpec{}, fmt.Errorf("field Resources %w", err)
	}
	if err := SharedBuffersFit(out.SharedBuffers, *out.Resources); err != nil {
		return postgresSpec{}, fmt.Errorf("field SharedBuffers %w", err)
	}
	if out.ObjectStore != nil {
		store := out.ObjectStore.withDefaults()
		if err := store.Check(); err != nil {
			return postgresSpec{}, fmt.Errorf("field ObjectStore %w", err)
		}
		if store.Prefix == "" || store.RestoreFrom == store.Prefix {
			return postgresSpec{}, errors.New("field ObjectStore needs a Prefix of its own (one folder per stack), other than RestoreFrom")
		}
		out.ObjectStore = &store
		out.BackupSchedule = workload.OrDefault(out.BackupSchedule, DefaultBackupSchedule)
	}
	out.current = newPostgresServer(ServerName(out.MajorVersion, out.Upgrade), out.MajorVersion, out.Image)
	if out.Upgrade != nil {
		upgrade, err := out.Upgrade.withDefaults(out.MajorVersion)
		if err != nil {
			return postgresSpec{}, fmt.Errorf("field Upgrade %w", err)
		}
		out.Upgrade = &upgrade
		if !upgrade.Done {
			old := newPostgresServer(upgrade.FromServer, upgrade.From, pins.PostgresImages[upgrade.From])
			out.old = &old
		}
	}
	return out, nil
}

// NewPostgres registers the password, its Secret, the headless Service that gives the
// database its DNS name, the StatefulSet and its PodDisruptionBudget.
func NewPostgres(ctx *pulumi.Context, name string, in *PostgresArgs, opts ...pulumi.ResourceOption) (*Postgres, error) {
	spec, err := in.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("component Postgres %q: %w", name, err)
	}
	comp := &Postgres{}
	if err := ctx.RegisterComponentResource("backstage:index:Postgres", name, comp, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(comp)

	password, err := generatedOnce(ctx, name+"-password", spec.Password, spec.protect, child)
	if err != nil {
		return nil, err
	}
	bootstrapPassword, err := generatedOnce(ctx, name+"-bootstrap-password", spec.BootstrapPassword, spec.protect, child)
	if err != nil {
		return nil, err
	}
	// What the retained StatefulSet's pod needs to start again outlives a destroy or a
	// move to an external database with it: its Secrets and its init scripts.
	secret, err := kube.New(ctx, name+"-secret", func(refs *kube.Refs) any { return postgresSecret(refs, spec, names.PostgresName, password) }, child, pulumi.RetainOnDelete(true))
	if err != nil {
		return nil, err
	}
	// The superuser's password never leaves this Secret: the app's Secret holds only the
	// app role's.
	bootstrap, err := kube.New(ctx, name+"-bootstrap-secret", func(refs *kube.Refs) any {
		return postgresSecret(refs, spec, names.PostgresBootstrapSecretName, bootstrapPassword)
	},
		child, pulumi.RetainOnDelete(true))
	if err != nil {
		return nil, err
	}
	initScripts, err := kube.New(ctx, name+"-init", func(refs *kube.Refs) any { return postgresInitScripts(refs, spec) }, child, pulumi.RetainOnDelete(true))
	if err != nil {
		return nil, err
	}
	inputs := postgresInputs{
		secretName:          secret.Name(),
		bootstrapSecretName: bootstrap.Name(),
		initScriptsName:     initScripts.Name(),
	}
	if spec.ObjectStore != nil {
		if inputs.objectStore, err = registerObjectStoreInputs(ctx, name, spec.Namespace, spec.ObjectStore, names.PostgresSelector, child); err != nil {
			return nil, err
		}
	}
	// The API server refuses a change of a server's major in place (major_guard.go);
	// the servers wait for the guard, so that the up that brings it is guarded too.
	policy, err := kube.New(ctx, name+"-major-guard", func(refs *kube.Refs) any { return majorGuardPolicy(refs, spec.Namespace) }, child)
	if err != nil {
		return nil, err
	}
	binding, err := kube.New(ctx, name+"-major-guard-binding", func(refs *kube.Refs) any { return majorGuardBinding(refs, spec.Namespace, policy.Name()) }, child)
	if err != nil {
		return nil, err
	}
	guarded := pulumi.Composite(child, pulumi.DependsOn([]pulumi.Resource{binding}))
	// While a copy runs, the new server holds only a copy: protection starts once it is
	// the stack's data, so that rolling back can let it go.
	service, current, err := registerServer(ctx, name, spec, spec.current, inputs, spec.protect && spec.old == nil, true, guarded)
	if err != nil {
		return nil, err
	}
	comp.StatefulSets = []pulumi.Resource{current}
	if spec.ObjectStore != nil {
		inputs.serviceName = service.Name()
		if err := registerBaseBackups(ctx, name, spec, inputs, current, child); err != nil {
			return nil, err
		}
	}
	comp.DataClaim = watchDataClaim(ctx, serverPrefix(name, spec.current), spec, spec.current, current, child)
	if spec.old != nil {
		// Left out of the program once the copy is done, and so only retained then:
		// protection would refuse that.
		_, old, err := registerServer(ctx, name, spec, *spec.old, inputs, false, false, guarded)
		if err != nil {
			return nil, err
		}
		comp.StatefulSets = append(comp.StatefulSets, old)
	}

	comp.Host = pulumi.Sprintf("%s.%s.svc.cluster.local", service.Name(), service.Namespace())
	comp.Server = pulumi.String(spec.current.name).ToStringOutput()
	comp.Port = pulumi.Int(names.PostgresPort).ToIntOutput()
	comp.Database = pulumi.String(names.PostgresDatabase).ToStringOutput()
	comp.User = pulumi.String(spec.User).ToStringOutput()
	comp.Password = password.ToStringOutput()
	comp.SecretName = secret.Name()
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"host":       comp.Host,
		"port":       comp.Port,
		"database":   comp.Database,
		"user":       comp.User,
		"password":   comp.Password,
		"secretName": comp.SecretName,
		"server":     comp.Server,
		"dataClaim":  comp.DataClaim,
	})
}

// serverPrefix names a server's children: after the component for the stack's first
// server, after the component and the major for an upgrade's.
func serverPrefix(name string, server postgresServer) string {
	if server.name == names.PostgresName {
		return name
	}
	return fmt.Sprintf("%s-%d", name, server.major)
}

// registerServer registers one server's headless Service and StatefulSet, the
// least-privilege Job on the stack's first server, and the disruption budget of the
// server Backstage uses.
func registerServer(ctx *pulumi.Context, name string, spec postgresSpec, server postgresServer, in postgresInputs,
	protect, budget bool, child pulumi.ResourceOption) (service, statefulSet *kube.Object, err error) {
	prefix := serverPrefix(name, server)
	service, err = kube.New(ctx, prefix+"-service", func(refs *kube.Refs) any { return postgresService(refs, spec, server) }, child)
	if err != nil {
		return nil, nil, err
	}
	in.serviceName = service.Name()
	statefulSet, err = kube.New(ctx, prefix+"-statefulset", func(refs *kube.Refs) any { return postgresStatefulSet(refs, spec, server, in) }, child,
		// The data outlives the program: `pulumi destroy` leaves the StatefulSet (and so
		// its claim) in place, and a change to the claim template, which Kubernetes would
		// only accept by replacing the StatefulSet, is ignored instead.
		pulumi.RetainOnDelete(true),
		pulumi.Protect(protect),
		pulumi.IgnoreChanges([]string{"spec.volumeClaimTemplates"}),
	)
	if err != nil {
		return nil, nil, err
	}
	if server.name == names.PostgresName {
		// Databases initialised before the bootstrap superuser existed have the app role
		// as their superuser; this Job makes them match new ones, and is a no-op on
		// those. A server an upgrade made was initialised with the init script.
		if _, err := kube.New(ctx, prefix+"-least-privilege", func(refs *kube.Refs) any {
			return leastPrivilegeJob(refs, spec, server, service.Name(),
				in.secretName, in.bootstrapSecretName)
		}, child, pulumi.DependsOn([]pulumi.Resource{statefulSet}),
			// It has done its work once it completed: a later image bump must not replace
			// (and so rerun) it, since a Job's template cannot change in place.
			pulumi.IgnoreChanges([]string{"spec"})); err != nil {
			return nil, nil, err
		}
	}
	if budget {
		// A single instance cannot stay up through a drain; allowing one eviction keeps
		// node maintenance possible while making the policy explicit. Only one budget may
		// cover a pod, and the first server's selector covers an upgrade's too.
		if _, err := kube.New(ctx, prefix+"-pdb", func(refs *kube.Refs) any {
			return workload.DisruptionBudget(refs, server.name, spec.Namespace, server.selector)
		},
			child, pulumi.DependsOn([]pulumi.Resource{statefulSet})); err != nil {
			return nil, nil, err
		}
	}
	return service, statefulSet, nil
}

// registerObjectStoreInputs registers what the server needs to reach the bucket: the
// CA bundle and the cloud identity, when given. Both are retained, as the StatefulSet
// that uses them is.
func registerObjectStoreInputs(ctx *pulumi.Context, name string, namespace pulumi.StringInput, store *ObjectStore, labels map[string]string, child pulumi.ResourceOption) (objectStoreInputs, error) {
	var in objectStoreInputs
	if store.CABundle != "" {
		ca, err := kube.New(ctx, name+"-object-store-ca", func(refs *kube.Refs) any { return objectStoreCA(refs, namespace, store, labels) }, child, pulumi.RetainOnDelete(true))
		if err != nil {
			return in, err
		}
		in.caName = ca.Name()
	}
	if len(store.ServiceAccountAnnotations) > 0 {
		account, err := kube.New(ctx, name+"-backup-identity", func(refs *kube.Refs) any { return backupServiceAccount(refs, namespace, store, labels) }, child, pulumi.RetainOnDelete(true))
		if err != nil {
			return in, err
		}
		in.serviceAccountName = account.Name()
	}
	return in, nil
}

// registerBaseBackups registers the first base backup, once the server archives, the
// base backups on the schedule, and the suspended restore.
func registerBaseBackups(ctx *pulumi.Context, name string, spec postgresSpec, in postgresInputs, server *kube.Object, child pulumi.ResourceOption) error {
	if _, err := kube.New(ctx, name+"-first-base-backup", func(refs *kube.Refs) any { return firstBackupJob(refs, spec, spec.current, in) },
		child, pulumi.DependsOn([]pulumi.Resource{server}),
		// Once done, never again: later backups are the CronJob's.
		pulumi.IgnoreChanges([]string{"spec"})); err != nil {
		return err
	}
	if _, err := kube.New(ctx, name+"-base-backup", func(refs *kube.Refs) any { return baseBackupCronJob(refs, spec, spec.current, in) }, child); err != nil {
		return err
	}
	_, err := kube.New(ctx, name+"-pitr-restore", func(refs *kube.Refs) any { return pitrRestoreCronJob(refs, spec, spec.current, in) }, child)
	return err
}
