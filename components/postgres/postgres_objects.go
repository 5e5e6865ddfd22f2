package postgres

import (
	_ "embed"
	"fmt"
	"maps"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// The desired objects of the database, one plain function each.

// The official postgres image's `postgres` user; the data volume is group-owned by it.
const postgresUID = 999

// pgdata is a subfolder of the volume, since the volume's root may hold lost+found.
const pgdata = "/var/lib/postgresql/data/pgdata"

func postgresSecret(refs *kube.Refs, spec postgresSpec, name string, password pulumi.StringInput) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: workload.ObjectMeta(refs, name, spec.Namespace, names.PostgresSelector, nil),
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{"password": refs.String(password)},
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
	selector := names.PostgresSelector
	if name != names.PostgresName {
		selector = map[string]string{"server": name}
		maps.Copy(selector, names.PostgresSelector)
	}
	return postgresServer{name: name, major: major, image: image, selector: selector}
}

// PostgresServerName is the StatefulSet of the given major: the stack's first server
// keeps PostgresName, and a major upgrade's is PostgresName-<major>, beside the old one.
func ServerName(major int, upgrade *PostgresUpgrade) string {
	if upgrade == nil {
		return names.PostgresName
	}
	return fmt.Sprintf("%s-%d", names.PostgresName, major)
}

// postgresService is headless: the StatefulSet's governing Service, resolving to the one pod.
func postgresService(refs *kube.Refs, spec postgresSpec, server postgresServer) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: workload.ObjectMeta(refs, server.name, spec.Namespace, server.selector, map[string]string{workload.SkipAwaitAnnotation: "true"}),
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  server.selector,
			Ports: []corev1.ServicePort{{
				Name: "tcp-postgresql", Port: names.PostgresPort, TargetPort: intstr.FromString("tcp-postgresql"),
			}},
		},
	}
}

// adoptable lets a later stack take the retained StatefulSet over after a destroy (or
// an interrupted one): the new field manager's apply would otherwise conflict with the
// old one's on the claim templates the API server filled in, and the database could
// never be re-adopted (found by the fault-injection test).
func adoptable(annotations map[string]string) map[string]string {
	annotations["pulumi.com/patchForce"] = "true"
	return annotations
}

// postgresInputs are what the StatefulSet takes from the objects registered before it.
type postgresInputs struct {
	serviceName, secretName, bootstrapSecretName, initScriptsName pulumi.StringInput
	objectStore                                                   objectStoreInputs
}

// createAppRole runs once, when the official image initialises an empty volume: the app
// role may log in and create the database per plugin Backstage makes, and is no
// superuser, so it cannot reach the server's files or programs (COPY ... TO PROGRAM).
//
//go:embed scripts/create-app-role.sh
var createAppRole string

func postgresInitScripts(refs *kube.Refs, spec postgresSpec) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: workload.ObjectMeta(refs, names.PostgresName+"-init", spec.Namespace, names.PostgresSelector, nil),
		Data:       map[string]string{"10-create-app-role.sh": createAppRole},
	}
}

// demoteAppRole brings a database initialised before the bootstrap superuser existed,
// where the app role is the superuser, to the same roles as a new one; on those it
// changes nothing. It connects as the superuser when it can, else (old databases) as the
// app role, which can still create the superuser.
//
//go:embed scripts/demote-app-role.sh
var demoteAppRole string

// leastPrivilegeJob runs demoteAppRole once, after the StatefulSet is ready.
func leastPrivilegeJob(refs *kube.Refs, spec postgresSpec, server postgresServer, host, secretName, bootstrapSecretName pulumi.StringInput) *batchv1.Job {
	env := []corev1.EnvVar{
		{Name: "PGHOST", Value: refs.String(host)},
		{Name: "PGDATABASE", Value: names.PostgresDatabase},
		{Name: "APP_USER", Value: spec.User},
		{Name: "BOOTSTRAP_USER", Value: names.PostgresSuperuser},
		secretEnv(refs, "APP_PASSWORD", secretName),
		secretEnv(refs, "BOOTSTRAP_PASSWORD", bootstrapSecretName),
	}
	return databaseClient{
		name: "least-privilege", image: server.image, script: demoteAppRole, env: env,
		volumes:    []corev1.Volume{workload.ScratchVolume("tmp", "16Mi")},
		mounts:     []corev1.VolumeMount{workload.VolumeMount("tmp", "/tmp")},
		scheduling: spec.Scheduling,
		resources: workload.ContainerResources{
			CPU: "50m", Memory: "64Mi", Ephemeral: "16Mi",
			CPULimit: "200m", MemoryLimit: "128Mi", EphemeralLimit: "64Mi",
		},
	}.job(refs, names.PostgresName+"-least-privilege", spec.Namespace, 6)
}

func secretEnv(refs *kube.Refs, name string, secretName pulumi.StringInput) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: refs.String(secretName)}, Key: "password"},
	}}
}

func postgresStatefulSet(refs *kube.Refs, spec postgresSpec, server postgresServer, in postgresInputs) *appsv1.StatefulSet {
	statefulSet := &appsv1.StatefulSet{
		ObjectMeta: workload.ObjectMeta(refs, server.name, spec.Namespace, server.selector,
			adoptable(workload.KubeScoreIgnoreUID("the official postgres image runs as its postgres user, UID 999, which owns PGDATA; runAsNonRoot is enforced"))),
		Spec: appsv1.StatefulSetSpec{
			ServiceName:         refs.String(in.serviceName),
			Replicas:            ptr.To[int32](1),
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy:      appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
			Selector:            workload.LabelSelector(server.selector),
			// Neither deleting the StatefulSet nor scaling it down may delete the data.
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: server.selector},
				Spec: corev1.PodSpec{
					NodeSelector:                 spec.Scheduling.NodeSelector,
					Tolerations:                  spec.Scheduling.Tolerations,
					PriorityClassName:            spec.Scheduling.PriorityClassName,
					AutomountServiceAccountToken: ptr.To(false),
					EnableServiceLinks:           ptr.To(false),
					SecurityContext:              workload.PodSecurityContext(postgresUID),
					Containers:                   []corev1.Container{postgresContainer(refs, spec, server, in)},
					Volumes: []corev1.Volume{
						workload.ScratchVolume("run", "16Mi"),
						workload.ScratchVolume("tmp", "256Mi"),
						workload.ConfigMapVolume(refs, "init", in.initScriptsName),
						// shared_buffers lives in shared memory; the runtime's 64Mi default is too small.
						{Name: "shm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
							Medium: corev1.StorageMediumMemory, SizeLimit: spec.Resources.SharedMemory(),
						}}},
					},
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: server.selector},
				Spec:       workload.ReadWriteOnceClaim(spec.StorageSize, spec.StorageClass),
			}},
		},
	}
	// The stack's server archives; the stack refuses a bucket during a major upgrade
	// (a new server is a new pgBackRest stanza).
	if spec.ObjectStore != nil && server.name == spec.current.name {
		withObjectStore(refs, spec, &statefulSet.Spec.Template.Spec, in)
	}
	return statefulSet
}

func postgresContainer(refs *kube.Refs, spec postgresSpec, server postgresServer, in postgresInputs) corev1.Container {
	isReady := []string{"pg_isready", "-h", "127.0.0.1", "-p", fmt.Sprint(names.PostgresPort), "-U", spec.User, "-d", names.PostgresDatabase}
	probe := func(period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: isReady}},
			PeriodSeconds:    period,
			TimeoutSeconds:   5,
			FailureThreshold: failures,
		}
	}
	return corev1.Container{
		Name:            "postgresql",
		Image:           server.image,
		ImagePullPolicy: corev1.PullAlways,
		Args: []string{
			"-c", fmt.Sprintf("max_connections=%d", spec.MaxConnections),
			"-c", "shared_buffers=" + spec.SharedBuffers,
		},
		Ports: []corev1.ContainerPort{{Name: "tcp-postgresql", ContainerPort: names.PostgresPort}},
		Env: []corev1.EnvVar{
			{Name: "POSTGRES_DB", Value: names.PostgresDatabase},
			// The image reads these only when it initialises an empty volume.
			{Name: "POSTGRES_USER", Value: names.PostgresSuperuser},
			secretEnv(refs, "POSTGRES_PASSWORD", in.bootstrapSecretName),
			{Name: "APP_USER", Value: spec.User},
			secretEnv(refs, "APP_PASSWORD", in.secretName),
			// Passwords on the socket too: no "trust" for local connections.
			{Name: "POSTGRES_INITDB_ARGS", Value: "--auth-local=scram-sha-256 --auth-host=scram-sha-256"},
			{Name: "PGDATA", Value: pgdata},
		},
		StartupProbe:   probe(5, 60),
		ReadinessProbe: probe(10, 3),
		// Liveness only asks whether the server still accepts connections; pg_isready
		// also fails during recovery, which must not be interrupted.
		LivenessProbe:   workload.TCPLivenessProbe("tcp-postgresql", 6),
		Resources:       spec.Resources.Requirements("64Mi", "1Gi"),
		SecurityContext: workload.ContainerSecurityContext(postgresUID),
		VolumeMounts: []corev1.VolumeMount{
			workload.VolumeMount("data", "/var/lib/postgresql/data"),
			workload.VolumeMount("run", "/var/run/postgresql"),
			workload.VolumeMount("tmp", "/tmp"),
			workload.VolumeMount("shm", "/dev/shm"),
			workload.ReadOnlyMount("init", "/docker-entrypoint-initdb.d"),
		},
	}
}
