package components

import (
	"errors"
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/api/resource"
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
	Resources *Resources
	// Optional: node selector, tolerations and priority class of the pod.
	Scheduling Scheduling
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
}

// postgresSpec is PostgresArgs with every default filled in.
type postgresSpec struct {
	PostgresArgs
	protect bool
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
	out := postgresSpec{PostgresArgs: *a, protect: boolOr(a.Protect, DefaultProtectDatabase)}
	out.MajorVersion = orDefault(out.MajorVersion, DefaultPostgresMajorVersion)
	if out.MajorVersion < MinPostgresMajorVersion || out.MajorVersion > MaxPostgresMajorVersion {
		return postgresSpec{}, fmt.Errorf("field MajorVersion must be from %d to %d, got %d", MinPostgresMajorVersion, MaxPostgresMajorVersion, out.MajorVersion)
	}
	out.Image = PostgresImage(out.Image, out.MajorVersion)
	if err := ImageMatchesMajor(out.Image, out.MajorVersion); err != nil {
		return postgresSpec{}, fmt.Errorf("field Image %w", err)
	}
	out.StorageSize = orDefault(out.StorageSize, DefaultStorageSize)
	out.SharedBuffers = orDefault(out.SharedBuffers, DefaultSharedBuffers)
	out.User = orDefault(out.User, DefaultPostgresUser)
	out.MaxConnections = orDefault(out.MaxConnections, DefaultMaxConnections)
	if out.MaxConnections < MinMaxConnections || out.MaxConnections > MaxMaxConnections {
		return postgresSpec{}, fmt.Errorf("field MaxConnections must be from %d to %d, got %d", MinMaxConnections, MaxMaxConnections, out.MaxConnections)
	}
	if size, err := resource.ParseQuantity(out.StorageSize); err != nil || size.Cmp(resource.MustParse(MinStorageSize)) < 0 {
		return postgresSpec{}, fmt.Errorf("field StorageSize must be a quantity of at least %s, got %q", MinStorageSize, out.StorageSize)
	}
	if out.Resources == nil {
		out.Resources = &DefaultPostgresResources
	}
	if err := out.Resources.Validate(); err != nil {
		return postgresSpec{}, fmt.Errorf("field Resources %w", err)
	}
	if err := SharedBuffersFit(out.SharedBuffers, *out.Resources); err != nil {
		return postgresSpec{}, fmt.Errorf("field SharedBuffers %w", err)
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
	secret, err := corev1.NewSecret(ctx, name+"-secret", postgresSecret(spec, PostgresName, password), child, pulumi.RetainOnDelete(true))
	if err != nil {
		return nil, err
	}
	// The superuser's password never leaves this Secret: the app's Secret holds only the
	// app role's.
	bootstrap, err := corev1.NewSecret(ctx, name+"-bootstrap-secret", postgresSecret(spec, PostgresBootstrapSecretName, bootstrapPassword),
		child, pulumi.RetainOnDelete(true))
	if err != nil {
		return nil, err
	}
	initScripts, err := corev1.NewConfigMap(ctx, name+"-init", postgresInitScripts(spec), child, pulumi.RetainOnDelete(true))
	if err != nil {
		return nil, err
	}
	service, err := corev1.NewService(ctx, name+"-service", postgresService(spec), child)
	if err != nil {
		return nil, err
	}
	statefulSet, err := appsv1.NewStatefulSet(ctx, name+"-statefulset",
		postgresStatefulSet(spec, postgresInputs{
			serviceName:         service.Metadata.Name().Elem(),
			secretName:          secret.Metadata.Name(),
			bootstrapSecretName: bootstrap.Metadata.Name(),
			initScriptsName:     initScripts.Metadata.Name(),
		}), child,
		// The data outlives the program: `pulumi destroy` leaves the StatefulSet (and so
		// its claim) in place, and a change to the claim template, which Kubernetes would
		// only accept by replacing the StatefulSet, is ignored instead.
		pulumi.RetainOnDelete(true),
		pulumi.Protect(spec.protect),
		pulumi.IgnoreChanges([]string{"spec.volumeClaimTemplates"}),
	)
	if err != nil {
		return nil, err
	}
	// Databases initialised before the bootstrap superuser existed have the app role as
	// their superuser; this Job makes them match new ones, and is a no-op on those.
	if _, err := batchv1.NewJob(ctx, name+"-least-privilege", leastPrivilegeJob(spec, service.Metadata.Name().Elem(),
		secret.Metadata.Name(), bootstrap.Metadata.Name()), child, pulumi.DependsOn([]pulumi.Resource{statefulSet}),
		// It has done its work once it completed: a later image bump must not replace
		// (and so rerun) it, since a Job's template cannot change in place.
		pulumi.IgnoreChanges([]string{"spec"})); err != nil {
		return nil, err
	}
	// A single instance cannot stay up through a drain; allowing one eviction keeps node
	// maintenance possible while making the policy explicit.
	if _, err := policyv1.NewPodDisruptionBudget(ctx, name+"-pdb", disruptionBudget(PostgresName, spec.Namespace, PostgresSelector),
		child, pulumi.DependsOn([]pulumi.Resource{statefulSet})); err != nil {
		return nil, err
	}

	comp.Host = pulumi.Sprintf("%s.%s.svc.cluster.local", service.Metadata.Name().Elem(), service.Metadata.Namespace().Elem())
	comp.Port = pulumi.Int(PostgresPort).ToIntOutput()
	comp.Database = pulumi.String(PostgresDatabase).ToStringOutput()
	comp.User = pulumi.String(spec.User).ToStringOutput()
	comp.Password = password.ToStringOutput()
	comp.SecretName = secret.Metadata.Name().Elem()
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"host":       comp.Host,
		"port":       comp.Port,
		"database":   comp.Database,
		"user":       comp.User,
		"password":   comp.Password,
		"secretName": comp.SecretName,
	})
}
