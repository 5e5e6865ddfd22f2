package components

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The official postgres image's `postgres` user; the data volume is group-owned by it.
const postgresUID = 999

// PostgresArgs configures the Backstage database.
type PostgresArgs struct {
	// Required: the namespace to run in.
	Namespace pulumi.StringInput
	// Required: the PostgreSQL 14 image, pinned by tag.
	Image string
	// Optional: defaults to "8Gi". Size of the data volume; fixed once the claim exists.
	StorageSize string
	// Optional: defaults to the cluster's default StorageClass.
	StorageClass string
	// Optional: defaults to 100.
	MaxConnections int
	// Optional: defaults to "256MB".
	SharedBuffers string
	// Optional: defaults to "backstage". The owner of the database.
	User string
	// Optional: defaults to a 32-character password generated once and kept in state.
	Password pulumi.StringInput
	// Optional: defaults to false. Refuses to delete the StatefulSet and the generated
	// password until protection is lifted; production stacks set it.
	Protect bool
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

func (a *PostgresArgs) withDefaults() (PostgresArgs, error) {
	if a == nil || a.Namespace == nil {
		return PostgresArgs{}, fmt.Errorf("missing required field Namespace")
	}
	if a.Image == "" {
		return PostgresArgs{}, fmt.Errorf("missing required field Image")
	}
	out := *a
	out.StorageSize = orDefault(out.StorageSize, DefaultStorageSize)
	out.SharedBuffers = orDefault(out.SharedBuffers, DefaultSharedBuffers)
	out.User = orDefault(out.User, "backstage")
	if out.MaxConnections == 0 {
		out.MaxConnections = DefaultMaxConnections
	}
	if out.MaxConnections < 0 {
		return PostgresArgs{}, fmt.Errorf("field MaxConnections must be positive, got %d", out.MaxConnections)
	}
	return out, nil
}

// NewPostgres registers the password, its Secret, the headless Service that gives the
// database its DNS name, the StatefulSet and its PodDisruptionBudget.
func NewPostgres(ctx *pulumi.Context, name string, in *PostgresArgs, opts ...pulumi.ResourceOption) (*Postgres, error) {
	args, err := in.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("component Postgres %q: %w", name, err)
	}
	comp := &Postgres{}
	if err := ctx.RegisterComponentResource("backstage:index:Postgres", name, comp, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(comp)

	password := args.Password
	if password == nil {
		generated, err := random.NewRandomPassword(ctx, name+"-password", &random.RandomPasswordArgs{
			Length:  pulumi.Int(32),
			Special: pulumi.Bool(false), // it ends up in a connection string
		}, child, pulumi.Protect(args.Protect))
		if err != nil {
			return nil, err
		}
		password = generated.Result
	}
	password = pulumi.ToSecret(password).(pulumi.StringOutput)

	secret, err := corev1.NewSecret(ctx, name+"-secret", &corev1.SecretArgs{
		Metadata:   objectMeta(PostgresName, args.Namespace, PostgresSelector, nil),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{"password": password},
	}, child)
	if err != nil {
		return nil, err
	}

	service, err := corev1.NewService(ctx, name+"-service", &corev1.ServiceArgs{
		Metadata: objectMeta(PostgresName, args.Namespace, PostgresSelector,
			pulumi.StringMap{skipAwaitAnnotation: pulumi.String("true")}),
		Spec: &corev1.ServiceSpecArgs{
			// Headless: the StatefulSet's governing Service, resolving to the one pod.
			ClusterIP: pulumi.String("None"),
			Selector:  pulumi.ToStringMap(PostgresSelector),
			Ports: corev1.ServicePortArray{corev1.ServicePortArgs{
				Name: pulumi.String("tcp-postgresql"), Port: pulumi.Int(PostgresPort), TargetPort: pulumi.String("tcp-postgresql"),
			}},
		},
	}, child)
	if err != nil {
		return nil, err
	}

	isReady := pulumi.ToStringArray([]string{"pg_isready", "-h", "127.0.0.1", "-p", fmt.Sprint(PostgresPort), "-U", args.User, "-d", PostgresDatabase})
	probe := func(period, failures int) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{
			Exec:             &corev1.ExecActionArgs{Command: isReady},
			PeriodSeconds:    pulumi.Int(period),
			TimeoutSeconds:   pulumi.Int(5),
			FailureThreshold: pulumi.Int(failures),
		}
	}
	mount := func(volume, path string) corev1.VolumeMountArgs {
		return corev1.VolumeMountArgs{Name: pulumi.String(volume), MountPath: pulumi.String(path)}
	}
	claimSpec := &corev1.PersistentVolumeClaimSpecArgs{
		AccessModes: pulumi.StringArray{pulumi.String("ReadWriteOnce")},
		Resources:   &corev1.VolumeResourceRequirementsArgs{Requests: pulumi.StringMap{"storage": pulumi.String(args.StorageSize)}},
	}
	if args.StorageClass != "" {
		claimSpec.StorageClassName = pulumi.String(args.StorageClass)
	}

	statefulSet, err := appsv1.NewStatefulSet(ctx, name+"-statefulset", &appsv1.StatefulSetArgs{
		Metadata: objectMeta(PostgresName, args.Namespace, PostgresSelector,
			kubeScoreIgnoreUID("the official postgres image runs as its postgres user, UID 999, which owns PGDATA; runAsNonRoot is enforced")),
		Spec: &appsv1.StatefulSetSpecArgs{
			ServiceName:         service.Metadata.Name().Elem(),
			Replicas:            pulumi.Int(1),
			PodManagementPolicy: pulumi.String("OrderedReady"),
			UpdateStrategy:      &appsv1.StatefulSetUpdateStrategyArgs{Type: pulumi.String("RollingUpdate")},
			Selector:            &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(PostgresSelector)},
			// Neither deleting the StatefulSet nor scaling it down may delete the data.
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs{
				WhenDeleted: pulumi.String("Retain"),
				WhenScaled:  pulumi.String("Retain"),
			},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(PostgresSelector)},
				Spec: &corev1.PodSpecArgs{
					AutomountServiceAccountToken: pulumi.Bool(false),
					EnableServiceLinks:           pulumi.Bool(false),
					SecurityContext:              podSecurityContext(postgresUID),
					Containers: corev1.ContainerArray{corev1.ContainerArgs{
						Name:            pulumi.String("postgresql"),
						Image:           pulumi.String(args.Image),
						ImagePullPolicy: pulumi.String("Always"),
						Args: pulumi.ToStringArray([]string{
							"-c", fmt.Sprintf("max_connections=%d", args.MaxConnections),
							"-c", "shared_buffers=" + args.SharedBuffers,
						}),
						Ports: corev1.ContainerPortArray{corev1.ContainerPortArgs{
							Name: pulumi.String("tcp-postgresql"), ContainerPort: pulumi.Int(PostgresPort),
						}},
						Env: corev1.EnvVarArray{
							corev1.EnvVarArgs{Name: pulumi.String("POSTGRES_DB"), Value: pulumi.String(PostgresDatabase)},
							corev1.EnvVarArgs{Name: pulumi.String("POSTGRES_USER"), Value: pulumi.String(args.User)},
							corev1.EnvVarArgs{Name: pulumi.String("POSTGRES_PASSWORD"), ValueFrom: &corev1.EnvVarSourceArgs{
								SecretKeyRef: &corev1.SecretKeySelectorArgs{Name: secret.Metadata.Name(), Key: pulumi.String("password")},
							}},
							// A subfolder, since the volume's root may hold lost+found.
							corev1.EnvVarArgs{Name: pulumi.String("PGDATA"), Value: pulumi.String("/var/lib/postgresql/data/pgdata")},
						},
						StartupProbe:   probe(5, 60),
						ReadinessProbe: probe(10, 3),
						// Liveness only asks whether the server still accepts connections;
						// pg_isready also fails during recovery, which must not be interrupted.
						LivenessProbe: &corev1.ProbeArgs{
							TcpSocket:        &corev1.TCPSocketActionArgs{Port: pulumi.String("tcp-postgresql")},
							PeriodSeconds:    pulumi.Int(30),
							TimeoutSeconds:   pulumi.Int(5),
							FailureThreshold: pulumi.Int(6),
						},
						Resources: containerResources{
							cpu: "250m", memory: "512Mi", ephemeral: "64Mi",
							cpuLimit: "1", memoryLimit: "1Gi", ephemeralLimit: "1Gi",
						}.args(),
						SecurityContext: containerSecurityContext(postgresUID),
						VolumeMounts: corev1.VolumeMountArray{
							mount("data", "/var/lib/postgresql/data"),
							mount("run", "/var/run/postgresql"),
							mount("tmp", "/tmp"),
							mount("shm", "/dev/shm"),
						},
					}},
					Volumes: corev1.VolumeArray{
						scratchVolume("run", "16Mi"),
						scratchVolume("tmp", "256Mi"),
						// shared_buffers lives in shared memory; the runtime's 64Mi default is too small.
						corev1.VolumeArgs{Name: pulumi.String("shm"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{
							Medium: pulumi.String("Memory"), SizeLimit: pulumi.String("512Mi"),
						}},
					},
				},
			},
			VolumeClaimTemplates: corev1.PersistentVolumeClaimTypeArray{corev1.PersistentVolumeClaimTypeArgs{
				Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("data"), Labels: pulumi.ToStringMap(PostgresSelector)},
				Spec:     claimSpec,
			}},
		},
	}, child,
		// The data outlives the program: `pulumi destroy` leaves the StatefulSet (and so
		// its claim) in place, and a change to the claim template, which Kubernetes would
		// only accept by replacing the StatefulSet, is ignored instead.
		pulumi.RetainOnDelete(true),
		pulumi.Protect(args.Protect),
		pulumi.IgnoreChanges([]string{"spec.volumeClaimTemplates"}),
	)
	if err != nil {
		return nil, err
	}

	if _, err := policyv1.NewPodDisruptionBudget(ctx, name+"-pdb", &policyv1.PodDisruptionBudgetArgs{
		Metadata: objectMeta(PostgresName, args.Namespace, PostgresSelector, nil),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			// A single instance cannot stay up through a drain; allowing one eviction
			// keeps node maintenance possible while making the policy explicit.
			MaxUnavailable: pulumi.Int(1),
			Selector:       &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(PostgresSelector)},
		},
	}, child, pulumi.DependsOn([]pulumi.Resource{statefulSet})); err != nil {
		return nil, err
	}

	comp.Host = pulumi.Sprintf("%s.%s.svc.cluster.local", service.Metadata.Name().Elem(), service.Metadata.Namespace().Elem())
	comp.Port = pulumi.Int(PostgresPort).ToIntOutput()
	comp.Database = pulumi.String(PostgresDatabase).ToStringOutput()
	comp.User = pulumi.String(args.User).ToStringOutput()
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

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
