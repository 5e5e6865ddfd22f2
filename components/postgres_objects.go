package components

import (
	"fmt"
	"maps"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The desired objects of the database, one plain function each.

// The official postgres image's `postgres` user; the data volume is group-owned by it.
const postgresUID = 999

// pgdata is a subfolder of the volume, since the volume's root may hold lost+found.
const pgdata = "/var/lib/postgresql/data/pgdata"

func postgresSecret(spec postgresSpec, name string, password pulumi.StringInput) *corev1.SecretArgs {
	return &corev1.SecretArgs{
		Metadata:   objectMeta(name, spec.Namespace, PostgresSelector, nil),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{"password": password},
	}
}

// postgresServer is one PostgreSQL StatefulSet: the stack's, or during a major upgrade
// the old one the data is copied from.
type postgresServer struct {
	// name is the StatefulSet's and its Service's: PostgresName for the stack's first
	// server, PostgresName-<major> for one a major upgrade made.
	name  string
	major int
	image string
	// selector is PostgresSelector for the first server, whose StatefulSet selector
	// cannot change; an upgrade's server adds its name, so that its StatefulSet, Service
	// and disruption budget pick only its pod. The NetworkPolicies select both.
	selector map[string]string
}

func newPostgresServer(name string, major int, image string) postgresServer {
	selector := PostgresSelector
	if name != PostgresName {
		selector = map[string]string{"server": name}
		maps.Copy(selector, PostgresSelector)
	}
	return postgresServer{name: name, major: major, image: image, selector: selector}
}

// PostgresServerName is the StatefulSet of the given major: the stack's first server
// keeps PostgresName, and a major upgrade's is PostgresName-<major>, beside the old one.
func PostgresServerName(major int, upgrade *PostgresUpgrade) string {
	if upgrade == nil {
		return PostgresName
	}
	return fmt.Sprintf("%s-%d", PostgresName, major)
}

// postgresService is headless: the StatefulSet's governing Service, resolving to the one pod.
func postgresService(spec postgresSpec, server postgresServer) *corev1.ServiceArgs {
	return &corev1.ServiceArgs{
		Metadata: objectMeta(server.name, spec.Namespace, server.selector,
			pulumi.StringMap{skipAwaitAnnotation: pulumi.String("true")}),
		Spec: &corev1.ServiceSpecArgs{
			ClusterIP: pulumi.String("None"),
			Selector:  pulumi.ToStringMap(server.selector),
			Ports: corev1.ServicePortArray{corev1.ServicePortArgs{
				Name: pulumi.String("tcp-postgresql"), Port: pulumi.Int(PostgresPort), TargetPort: pulumi.String("tcp-postgresql"),
			}},
		},
	}
}

// adoptable lets a later stack take the retained StatefulSet over after a destroy (or
// an interrupted one): the new field manager's apply would otherwise conflict with the
// old one's on the claim templates the API server filled in, and the database could
// never be re-adopted (found by the fault-injection test).
func adoptable(annotations pulumi.StringMap) pulumi.StringMap {
	annotations["pulumi.com/patchForce"] = pulumi.String("true")
	return annotations
}

// postgresInputs are what the StatefulSet takes from the objects registered before it.
type postgresInputs struct {
	serviceName                                      pulumi.StringInput
	secretName, bootstrapSecretName, initScriptsName pulumi.StringPtrInput
}

// createAppRole runs once, when the official image initialises an empty volume: the app
// role may log in and create the database per plugin Backstage makes, and is no
// superuser, so it cannot reach the server's files or programs (COPY ... TO PROGRAM).
const createAppRole = `psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_user="$APP_USER" -v app_password="$APP_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"app_user" LOGIN CREATEDB NOSUPERUSER NOCREATEROLE PASSWORD :'app_password';
ALTER DATABASE :"db" OWNER TO :"app_user";
SQL
`

func postgresInitScripts(spec postgresSpec) *corev1.ConfigMapArgs {
	return &corev1.ConfigMapArgs{
		Metadata: objectMeta(PostgresName+"-init", spec.Namespace, PostgresSelector, nil),
		Data:     pulumi.StringMap{"10-create-app-role.sh": pulumi.String(createAppRole)},
	}
}

// demoteAppRole brings a database initialised before the bootstrap superuser existed,
// where the app role is the superuser, to the same roles as a new one; on those it
// changes nothing. It connects as the superuser when it can, else (old databases) as the
// app role, which can still create the superuser.
const demoteAppRole = `set -eu
if ! PGPASSWORD="$BOOTSTRAP_PASSWORD" psql -U "$BOOTSTRAP_USER" -c 'SELECT 1' >/dev/null 2>&1; then
  PGPASSWORD="$APP_PASSWORD" psql -v ON_ERROR_STOP=1 -U "$APP_USER" -v su="$BOOTSTRAP_USER" -v pw="$BOOTSTRAP_PASSWORD" <<'SQL'
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'su') AS missing \gset
\if :missing
CREATE ROLE :"su" SUPERUSER LOGIN PASSWORD :'pw';
\else
ALTER ROLE :"su" SUPERUSER LOGIN PASSWORD :'pw';
\endif
SQL
fi
PGPASSWORD="$BOOTSTRAP_PASSWORD" psql -v ON_ERROR_STOP=1 -U "$BOOTSTRAP_USER" -v app="$APP_USER" <<'SQL'
ALTER ROLE :"app" NOSUPERUSER NOCREATEROLE CREATEDB LOGIN;
SQL
echo "the app role is not a superuser"
`

// leastPrivilegeJob runs demoteAppRole once, after the StatefulSet is ready.
func leastPrivilegeJob(spec postgresSpec, server postgresServer, host pulumi.StringInput, secretName, bootstrapSecretName pulumi.StringPtrInput) *batchv1.JobArgs {
	env := corev1.EnvVarArray{
		corev1.EnvVarArgs{Name: pulumi.String("PGHOST"), Value: host},
		corev1.EnvVarArgs{Name: pulumi.String("PGDATABASE"), Value: pulumi.String(PostgresDatabase)},
		corev1.EnvVarArgs{Name: pulumi.String("APP_USER"), Value: pulumi.String(spec.User)},
		corev1.EnvVarArgs{Name: pulumi.String("BOOTSTRAP_USER"), Value: pulumi.String(PostgresSuperuser)},
		secretEnv("APP_PASSWORD", secretName),
		secretEnv("BOOTSTRAP_PASSWORD", bootstrapSecretName),
	}
	return databaseClient{
		name: "least-privilege", image: server.image, script: demoteAppRole, env: env,
		volumes:    corev1.VolumeArray{scratchVolume("tmp", "16Mi")},
		mounts:     corev1.VolumeMountArray{volumeMount("tmp", "/tmp")},
		scheduling: spec.Scheduling,
		resources: containerResources{
			cpu: "50m", memory: "64Mi", ephemeral: "16Mi",
			cpuLimit: "200m", memoryLimit: "128Mi", ephemeralLimit: "64Mi",
		},
	}.job(PostgresName+"-least-privilege", spec.Namespace, 6)
}

func secretEnv(name string, secretName pulumi.StringPtrInput) corev1.EnvVarArgs {
	return corev1.EnvVarArgs{Name: pulumi.String(name), ValueFrom: &corev1.EnvVarSourceArgs{
		SecretKeyRef: &corev1.SecretKeySelectorArgs{Name: secretName, Key: pulumi.String("password")},
	}}
}

func postgresStatefulSet(spec postgresSpec, server postgresServer, in postgresInputs) *appsv1.StatefulSetArgs {
	return &appsv1.StatefulSetArgs{
		Metadata: objectMeta(server.name, spec.Namespace, server.selector,
			adoptable(kubeScoreIgnoreUID("the official postgres image runs as its postgres user, UID 999, which owns PGDATA; runAsNonRoot is enforced"))),
		Spec: &appsv1.StatefulSetSpecArgs{
			ServiceName:         in.serviceName,
			Replicas:            pulumi.Int(1),
			PodManagementPolicy: pulumi.String("OrderedReady"),
			UpdateStrategy:      &appsv1.StatefulSetUpdateStrategyArgs{Type: pulumi.String("RollingUpdate")},
			Selector:            labelSelector(server.selector),
			// Neither deleting the StatefulSet nor scaling it down may delete the data.
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs{
				WhenDeleted: pulumi.String("Retain"),
				WhenScaled:  pulumi.String("Retain"),
			},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(server.selector)},
				Spec: &corev1.PodSpecArgs{
					NodeSelector:                 spec.Scheduling.nodeSelector(),
					Tolerations:                  spec.Scheduling.tolerations(),
					PriorityClassName:            spec.Scheduling.priorityClassName(),
					AutomountServiceAccountToken: pulumi.Bool(false),
					EnableServiceLinks:           pulumi.Bool(false),
					SecurityContext:              podSecurityContext(postgresUID),
					Containers:                   corev1.ContainerArray{postgresContainer(spec, server, in)},
					Volumes: corev1.VolumeArray{
						scratchVolume("run", "16Mi"),
						scratchVolume("tmp", "256Mi"),
						configMapVolume("init", in.initScriptsName),
						// shared_buffers lives in shared memory; the runtime's 64Mi default is too small.
						corev1.VolumeArgs{Name: pulumi.String("shm"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{
							Medium: pulumi.String("Memory"), SizeLimit: pulumi.String(spec.Resources.SharedMemorySize()),
						}},
					},
				},
			},
			VolumeClaimTemplates: corev1.PersistentVolumeClaimTypeArray{corev1.PersistentVolumeClaimTypeArgs{
				Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("data"), Labels: pulumi.ToStringMap(server.selector)},
				Spec:     readWriteOnceClaim(spec.StorageSize, spec.StorageClass),
			}},
		},
	}
}

func postgresContainer(spec postgresSpec, server postgresServer, in postgresInputs) corev1.ContainerArgs {
	isReady := pulumi.ToStringArray([]string{"pg_isready", "-h", "127.0.0.1", "-p", fmt.Sprint(PostgresPort), "-U", spec.User, "-d", PostgresDatabase})
	probe := func(period, failures int) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{
			Exec:             &corev1.ExecActionArgs{Command: isReady},
			PeriodSeconds:    pulumi.Int(period),
			TimeoutSeconds:   pulumi.Int(5),
			FailureThreshold: pulumi.Int(failures),
		}
	}
	return corev1.ContainerArgs{
		Name:            pulumi.String("postgresql"),
		Image:           pulumi.String(server.image),
		ImagePullPolicy: pulumi.String("Always"),
		Args: pulumi.ToStringArray([]string{
			"-c", fmt.Sprintf("max_connections=%d", spec.MaxConnections),
			"-c", "shared_buffers=" + spec.SharedBuffers,
		}),
		Ports: corev1.ContainerPortArray{corev1.ContainerPortArgs{
			Name: pulumi.String("tcp-postgresql"), ContainerPort: pulumi.Int(PostgresPort),
		}},
		Env: corev1.EnvVarArray{
			corev1.EnvVarArgs{Name: pulumi.String("POSTGRES_DB"), Value: pulumi.String(PostgresDatabase)},
			// The image reads these only when it initialises an empty volume.
			corev1.EnvVarArgs{Name: pulumi.String("POSTGRES_USER"), Value: pulumi.String(PostgresSuperuser)},
			secretEnv("POSTGRES_PASSWORD", in.bootstrapSecretName),
			corev1.EnvVarArgs{Name: pulumi.String("APP_USER"), Value: pulumi.String(spec.User)},
			secretEnv("APP_PASSWORD", in.secretName),
			// Passwords on the socket too: no "trust" for local connections.
			corev1.EnvVarArgs{Name: pulumi.String("POSTGRES_INITDB_ARGS"), Value: pulumi.String("--auth-local=scram-sha-256 --auth-host=scram-sha-256")},
			corev1.EnvVarArgs{Name: pulumi.String("PGDATA"), Value: pulumi.String(pgdata)},
		},
		StartupProbe:   probe(5, 60),
		ReadinessProbe: probe(10, 3),
		// Liveness only asks whether the server still accepts connections; pg_isready
		// also fails during recovery, which must not be interrupted.
		LivenessProbe:   tcpLivenessProbe("tcp-postgresql", 6),
		Resources:       spec.Resources.args("64Mi", "1Gi"),
		SecurityContext: containerSecurityContext(postgresUID),
		VolumeMounts: corev1.VolumeMountArray{
			volumeMount("data", "/var/lib/postgresql/data"),
			volumeMount("run", "/var/run/postgresql"),
			volumeMount("tmp", "/tmp"),
			volumeMount("shm", "/dev/shm"),
			readOnlyMount("init", "/docker-entrypoint-initdb.d"),
		},
	}
}
