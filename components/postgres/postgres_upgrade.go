package postgres

import (
	_ "embed"
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/workload"
	"github.com/arhean/backstage-pulumi/internal/kube"
)

// PostgresUpgrade moves the data to a new major without pointing a server at another
// major's data directory. While the copy runs (Done false) Backstage is stopped, the old
// server keeps running beside a new one of the new major, and a Job copies every
// database with pg_dumpall | psql; once the copy is checked (Done true) Backstage runs on
// the new server and the old one leaves the program, retained with its claim until its
// owner deletes it.
type PostgresUpgrade struct {
	// Required: the major of the server the data is copied from.
	From int
	// Optional: defaults to PostgresName. The old server's StatefulSet; a server an
	// earlier upgrade made is PostgresName-<major>.
	FromServer string
	// Optional: false while the copy runs, true once it is checked.
	Done bool
}

func (u PostgresUpgrade) withDefaults(to int) (PostgresUpgrade, error) {
	u.FromServer = workload.OrDefault(u.FromServer, names.PostgresName)
	return u, u.Validate(to)
}

// Validate checks an upgrade to the major to: upwards, from another server.
func (u PostgresUpgrade) Validate(to int) error {
	from := workload.OrDefault(u.FromServer, names.PostgresName)
	switch {
	case u.From < MinMajorVersion || u.From >= to:
		return fmt.Errorf("from is %d, but the new major is %d: an upgrade goes from a major from %d up to below the new one (pg_dumpall of a newer server does not load into an older one)",
			u.From, to, MinMajorVersion)
	case len(validation.IsDNS1123Label(from)) > 0:
		return fmt.Errorf("fromServer %q is not a StatefulSet name", from)
	case from == ServerName(to, &u):
		return fmt.Errorf("fromServer %q is the new server's own name", from)
	}
	return nil
}

// CopyJobName is the Job that copies the data from one major to another.
func (u PostgresUpgrade) CopyJobName(to int) string {
	return fmt.Sprintf("%s-upgrade-%d-to-%d", names.PostgresName, u.From, to)
}

// copyToNewMajor copies every role and database from the old server into the new,
// freshly initialised one. The app role may not log in to the old server while it runs,
// so that no write made after the dump started is lost, even by a pod still shutting
// down; it may again at the end, which leaves the old server as it was, the fallback.
// The new server's init script already made both roles and the catalog database, the
// only three statements expected to fail; any other error fails the Job. Passwords are
// not copied: both servers take them from the same Secrets. A rerun after a complete
// copy changes nothing.
//
//go:embed scripts/copy-to-new-major.sh
var copyToNewMajor string

// MajorUpgradeArgs configures the copy of the data to a new major.
type MajorUpgradeArgs struct {
	// Required: the namespace the servers run in.
	Namespace pulumi.StringInput
	// Required: where the data comes from.
	Upgrade PostgresUpgrade
	// Required: the new server's major, its image (whose pg_dumpall reads every older
	// server) and its address.
	To     int
	Image  string
	Target pulumi.StringInput
	// Required: the app role, which may not log in to the old server during the copy.
	AppUser string
	// Optional: node selector, tolerations and priority class of the Job's pod.
	Scheduling workload.Scheduling
	// Required: what must be in place before the copy starts: Backstage stopped, and
	// both servers ready. (A component's own dependencies do not hold back its children.)
	After []pulumi.Resource
}

// MajorUpgrade is the Job that copies the data from the old major's server to the new
// one's. Register it after Backstage is stopped.
type MajorUpgrade struct {
	pulumi.ResourceState

	JobName pulumi.StringOutput `pulumi:"jobName"`
}

// NewMajorUpgrade registers the copy Job.
func NewMajorUpgrade(ctx *pulumi.Context, name string, args *MajorUpgradeArgs, opts ...pulumi.ResourceOption) (*MajorUpgrade, error) {
	if args == nil || args.Namespace == nil || args.Target == nil || args.Image == "" || args.AppUser == "" || len(args.After) == 0 {
		return nil, fmt.Errorf("component MajorUpgrade %q: %w", name, errors.New("missing required field Namespace, Target, Image, AppUser or After"))
	}
	upgrade, err := args.Upgrade.withDefaults(args.To)
	if err != nil {
		return nil, fmt.Errorf("component MajorUpgrade %q: field Upgrade %w", name, err)
	}
	comp := &MajorUpgrade{}
	if err := ctx.RegisterComponentResource("backstage:index:MajorUpgrade", name, comp, opts...); err != nil {
		return nil, err
	}
	job, err := kube.New(ctx, name+"-copy", func(refs *kube.Refs) any { return copyJob(refs, args, upgrade) }, pulumi.Parent(comp), pulumi.DependsOn(args.After),
		// One copy per upgrade: an image bump meanwhile must not replace (rerun) it.
		pulumi.IgnoreChanges([]string{"spec"}))
	if err != nil {
		return nil, err
	}
	comp.JobName = job.Name()
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{"jobName": comp.JobName})
}

func copyJob(refs *kube.Refs, args *MajorUpgradeArgs, upgrade PostgresUpgrade) *batchv1.Job {
	source := pulumi.Sprintf("%s-0.%s.%s.svc.cluster.local", upgrade.FromServer, upgrade.FromServer, args.Namespace)
	env := []corev1.EnvVar{
		{Name: "FROM_HOST", Value: refs.String(source)},
		{Name: "FROM_MAJOR", Value: fmt.Sprint(upgrade.From)},
		{Name: "FROM_PORT", Value: fmt.Sprint(names.PostgresPort)},
		{Name: "TO_HOST", Value: refs.String(args.Target)},
		{Name: "TO_PORT", Value: fmt.Sprint(names.PostgresPort)},
		{Name: "PGDATABASE", Value: names.PostgresDatabase},
		{Name: "APP_USER", Value: args.AppUser},
		{Name: "BOOTSTRAP_USER", Value: names.PostgresSuperuser},
		secretEnv(refs, "BOOTSTRAP_PASSWORD", pulumi.String(names.PostgresBootstrapSecretName)),
	}
	return databaseClient{
		name: "copy", image: args.Image, script: copyToNewMajor, env: env,
		volumes:    []corev1.Volume{workload.ScratchVolume("tmp", "64Mi")},
		mounts:     []corev1.VolumeMount{workload.VolumeMount("tmp", "/tmp")},
		scheduling: args.Scheduling,
		resources: workload.ContainerResources{
			CPU: "100m", Memory: "128Mi", Ephemeral: "64Mi",
			CPULimit: "1", MemoryLimit: "512Mi", EphemeralLimit: "128Mi",
		},
	}.job(refs, upgrade.CopyJobName(args.To), args.Namespace, 3)
}
