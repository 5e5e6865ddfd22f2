//go:build e2e

package tests

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/arhean/backstage-pulumi/internal/stackrun"
)

const (
	// realNode is the node hack/realnode.sh runs beside the local control plane.
	realNode = "realnode-0"
	// The realnode stack's ingress controller and scraper namespaces: no controller or
	// scraper runs there, only the tests' client pods.
	realNodeIngressNamespace = "ingress-nginx"
	realNodeScraperNamespace = "monitoring"
)

// realNodeStack is what Pulumi.realnode.yaml names and hack/realnode.sh serves, read
// from the file so that the tests look where the stack deploys: its namespace, and its
// object store's bucket and the Secret with the store's keys.
var realNodeStack = func() (out struct {
	Config struct {
		Namespace string `yaml:"backstage:namespace"`
		Backup    struct {
			ObjectStore struct {
				Bucket            string `yaml:"bucket"`
				CredentialsSecret string `yaml:"credentialsSecret"`
			} `yaml:"objectStore"`
		} `yaml:"backstage:backup"`
	} `yaml:"config"`
}) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Pulumi.realnode.yaml"))
	if err == nil {
		err = yaml.Unmarshal(data, &out)
	}
	if err != nil || out.Config.Namespace == "" || out.Config.Backup.ObjectStore.Bucket == "" {
		panic(fmt.Sprintf("Pulumi.realnode.yaml names no namespace or backup.objectStore.bucket (%v)", err))
	}
	return out
}()

// realNodeNamespace is the realnode stack's.
var realNodeNamespace = realNodeStack.Config.Namespace

// requireRealNode skips unless the real node is up (make test starts it where it can).
func requireRealNode(t *testing.T) {
	t.Helper()
	requireControlPlane(t)
	ready, err := kubectl(t, "get", "node", realNode, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
	if err != nil || strings.TrimSpace(ready) != "True" {
		t.Skip("the real node is not up: `make test` starts it where it can, `make cluster REAL_NODE=1` by hand")
	}
}

// TestRealNode runs the realnode stack on real containers, real packets and enforced
// NetworkPolicies, through one database's life: PostgreSQL initialises under the
// program's settings, a backup and a restore, a destroy that keeps the data, the real
// Backstage backend on it (the init container's wait, the health path through the
// Service, the traffic matrix's in-cluster flows, an image bump under load), and a major
// copy from Debian's PostgreSQL 15 to 17 that Backstage then runs on.
func TestRealNode(t *testing.T) {
	requireRealNode(t)
	// Beside the rest of the suite (make test runs it in a process of its own): its own
	// namespace, stacks and engine processes.
	ctx, cancel := context.WithTimeout(context.Background(), 14*time.Minute)
	t.Cleanup(cancel)
	resetNamespaceNamed(t, realNodeNamespace)
	var created []string
	for _, ns := range []string{realNodeIngressNamespace, realNodeScraperNamespace} {
		if _, err := kubectl(t, "create", "namespace", ns); err == nil {
			created = append(created, ns)
		}
	}
	first := stackFrom(t, "realnode", "realnode-first")
	s := stackFrom(t, "realnode", "realnode-again")
	// The nightly dump to a retained claim: the committed stack's backups go to the object
	// store instead (TestRealNodeBackupsSurviveTheCluster), and a move to another major,
	// below, is done without it (docs/operations.md: Upgrading PostgreSQL).
	for _, stack := range []*stackrun.Stack{first, s} {
		require.NoError(t, stack.SetConfig(context.Background(), "backstage:backup",
			auto.ConfigValue{Value: `{"schedule":"0 0 31 2 *","storageClass":"local-manual"}`}))
	}
	t.Cleanup(func() {
		_, _ = first.Destroy(context.Background())
		_, _ = s.Destroy(context.Background())
		resetNamespaceNamed(t, realNodeNamespace)
		for _, ns := range created {
			_, _ = kubectl(t, "delete", "namespace", ns, "--wait=false")
		}
	})

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"the database initialises, backs up, restores and outlives a destroy", func(t *testing.T) { realNodeDatabase(t, ctx, first, s) }},
		{"Backstage starts after the database and answers through its Service", func(t *testing.T) { realNodeBackstage(t, ctx, s) }},
		{"the init container waits until the database answers", func(t *testing.T) { realNodeInitWaits(t) }},
		{"the in-cluster flows connect or time out as the traffic matrix says", func(t *testing.T) { realNodeFlows(t) }},
		{"an image bump drops no request of a client polling the Service", func(t *testing.T) { realNodeImageBump(t, ctx, s) }},
		{"a major copy from 15 to 17 keeps every row and Backstage runs on it", func(t *testing.T) { realNodeMajorCopy(t, ctx, s) }},
		{"the platform's additions: a sidecar, an existing Secret's variable and an egress rule", func(t *testing.T) { realNodeAdditions(t, ctx, s) }},
	}
	for _, step := range steps {
		if !t.Run(step.name, step.run) {
			return
		}
	}
}

func realNodeDatabase(t *testing.T, ctx context.Context, first, again *stackrun.Stack) {
	// Backstage stays stopped until the data is back: a restore needs it stopped.
	require.NoError(t, first.SetConfig(ctx, "backstage:maintenance", auto.ConfigValue{Value: "true"}))
	require.NoError(t, cliUp(ctx, first), "the up waits for the real server's readiness probe and the role Job's real run")

	pod := objectIn(t, "pod", "psql-postgresql-0", realNodeNamespace)
	assert.Equal(t, realNode, fieldString(pod, "spec", "nodeName"))
	assert.Contains(t, podLog(t, "psql-postgresql-0", "postgresql"), "running /docker-entrypoint-initdb.d/10-create-app-role.sh",
		"the program's init script ran at initdb")
	assert.Contains(t, jobLog(t, "psql-postgresql-least-privilege"), "the app role is not a superuser",
		"the role Job reached the server by its Service name through cluster DNS")

	appPassword, bootstrapPassword := secretPassword(t, "psql-postgresql"), secretPassword(t, "psql-postgresql-bootstrap")
	sql := func(user, password, statement string) (string, error) {
		return psqlOn(t, "psql-postgresql-0", user, password, "backstage_plugin_catalog", statement)
	}
	out, err := sql("backstage", appPassword, "SELECT rolsuper::text || ',' || rolcreatedb::text FROM pg_roles WHERE rolname = current_user")
	require.NoError(t, err, out)
	assert.Equal(t, "false,true", out, "the app role logs in over the pod network, creates databases, and is no superuser")
	out, err = sql("backstage", appPassword, "COPY (SELECT 1) TO PROGRAM 'true'")
	require.Error(t, err)
	assert.Contains(t, out, "privileges of the pg_execute_server_program role")
	_, err = sql("backstage", "wrong", "SELECT 1")
	assert.Error(t, err, "a wrong password is refused")
	out, err = sql("postgres", bootstrapPassword, "SHOW max_connections")
	require.NoError(t, err, out)
	assert.Equal(t, "100", out, "the server runs with the program's flags")

	// A backup runs as a real pod, a lost row comes back from it, and the data outlives
	// a destroy: a new stack finds it.
	_, err = sql("backstage", appPassword, "CREATE TABLE test_rows (id int PRIMARY KEY, name text); INSERT INTO test_rows VALUES (1, 'service-a')")
	require.NoError(t, err)
	_, err = kubectl(t, "create", "job", "backup-now", "-n", realNodeNamespace, "--from=cronjob/backstage-backup")
	require.NoError(t, err)
	_, err = kubectl(t, "wait", "-n", realNodeNamespace, "--for=condition=complete", "--timeout=120s", "job/backup-now")
	require.NoError(t, err, jobLog(t, "backup-now"))
	assert.Contains(t, jobLog(t, "backup-now"), "dumped backstage_plugin_catalog")
	_, err = sql("backstage", appPassword, "DELETE FROM test_rows")
	require.NoError(t, err)
	restored, err := restore(nil, realNodeNamespace)
	require.NoError(t, err, restored)
	out, err = sql("backstage", appPassword, "SELECT name FROM test_rows")
	require.NoError(t, err, out)
	assert.Equal(t, "service-a", out, "the restore brought the row back")

	_, err = first.Destroy(ctx)
	require.NoError(t, err)
	require.NoError(t, again.SetConfig(ctx, "backstage:maintenance", auto.ConfigValue{Value: "true"}))
	require.NoError(t, cliUp(ctx, again), "a new stack adopts the retained server")
	out, err = sql("backstage", appPassword, "SELECT name FROM test_rows")
	require.NoError(t, err, out)
	assert.Equal(t, "service-a", out, "the data outlived the destroy")
}

func realNodeBackstage(t *testing.T, ctx context.Context, s *stackrun.Stack) {
	require.NoError(t, s.SetConfig(ctx, "backstage:maintenance", auto.ConfigValue{Value: "false"}))
	require.NoError(t, cliUp(ctx, s), "the real Backstage backend passes its startup and readiness probes")

	pod := backstagePods(t)[0]
	assert.Equal(t, realNode, fieldString(pod, "spec", "nodeName"))
	log := podLog(t, fieldString(pod, "metadata", "name"), "backstage")
	assert.Contains(t, log, `FileConfigSource{path="/app/config-extra/app-config.database.yaml"}`,
		"Backstage loads the app-config the program mounts, after the image's own files")
	out, err := psqlOn(t, "psql-postgresql-0", "backstage", secretPassword(t, "psql-postgresql"), "backstage_plugin_catalog",
		"SELECT count(*) > 0 FROM knex_migrations")
	require.NoError(t, err, out)
	assert.Equal(t, "t", out, "the catalog ran its migrations as the app role, through the env the program sets")

	body := waitForHealth(t)
	assert.Contains(t, body, `"status":"ok"`, "the health path through the Service's cluster IP")
}

// realNodeInitWaits takes the database away, starts a new Backstage pod, and gives the
// database back: the pod stays in its init container meanwhile and starts only after.
func realNodeInitWaits(t *testing.T) {
	scale := func(replicas int) {
		_, err := kubectl(t, "scale", "statefulset", "psql-postgresql", "-n", realNodeNamespace, fmt.Sprintf("--replicas=%d", replicas))
		require.NoError(t, err)
	}
	scale(0)
	_, err := kubectl(t, "wait", "-n", realNodeNamespace, "--for=delete", "pod/psql-postgresql-0", "--timeout=60s")
	require.NoError(t, err)
	old := fieldString(backstagePods(t)[0], "metadata", "name")
	_, err = kubectl(t, "delete", "pod", old, "-n", realNodeNamespace, "--wait=false")
	require.NoError(t, err)

	var waiting string
	waitFor(t, "a new Backstage pod waiting in its init container", 60*time.Second, func() bool {
		for _, pod := range backstagePods(t) {
			name := fieldString(pod, "metadata", "name")
			if name != old && strings.Contains(podLog(t, name, "wait-for-postgres"), "waiting for postgres") {
				waiting = name
				return true
			}
		}
		return false
	})
	time.Sleep(5 * time.Second)
	pod := objectIn(t, "pod", waiting, realNodeNamespace)
	assert.Equal(t, "Pending", fieldString(pod, "status", "phase"), "no Backstage container while the database is away")
	assert.NotNil(t, field(pod, "status", "initContainerStatuses", "0", "state", "running"), "the init container still waits")

	scale(1)
	_, err = kubectl(t, "wait", "-n", realNodeNamespace, "--for=condition=Ready", "pod/"+waiting, "--timeout=180s")
	require.NoError(t, err, "Backstage starts once the database answers")
	databaseReady := conditionTime(t, objectIn(t, "pod", "psql-postgresql-0", realNodeNamespace), "Ready")
	started, err := time.Parse(time.RFC3339, fieldString(objectIn(t, "pod", waiting, realNodeNamespace),
		"status", "containerStatuses", "0", "state", "running", "startedAt"))
	require.NoError(t, err)
	// Both times come from the one kubelet's clock, in whole seconds; the database's
	// readiness probe runs on a period, so it may report Ready a little after the port opened.
	assert.False(t, started.Before(databaseReady.Add(-15*time.Second)),
		"Backstage started at %s, the database was Ready at %s", started, databaseReady)
}

// realNodeFlows sends real connections from client pods in the namespaces the policies
// name and judges each: connected, or timed out (dropped). The table is the traffic
// matrix's in-cluster rows (tests/traffic); the edge, ACME solver, webhook and internet
// rows need an ingress controller, cert-manager or the internet and stay with the model.
func realNodeFlows(t *testing.T) {
	backstage := fieldString(backstagePods(t)[0], "status", "podIP")
	postgres := fieldString(objectIn(t, "pod", "psql-postgresql-0", realNodeNamespace), "status", "podIP")
	service := backstageServiceIP(t)
	require.NotEmpty(t, backstage, "Backstage's pod IP")
	require.NotEmpty(t, postgres, "PostgreSQL's pod IP")

	type flow struct {
		namespace, target string
		open              bool
	}
	flows := []flow{
		// The ingress controller reaches Backstage, directly and through its Service, and
		// nothing else.
		{realNodeIngressNamespace, backstage + ":7007", true},
		{realNodeIngressNamespace, service + ":80", true},
		{realNodeIngressNamespace, backstage + ":9464", false},
		{realNodeIngressNamespace, postgres + ":5432", false},
		// The scraper reaches the metrics port only.
		{realNodeScraperNamespace, backstage + ":9464", true},
		{realNodeScraperNamespace, service + ":9464", true},
		{realNodeScraperNamespace, backstage + ":7007", false},
		{realNodeScraperNamespace, postgres + ":5432", false},
		// A stranger's namespace reaches nothing.
		{"default", backstage + ":7007", false},
		{"default", service + ":80", false},
		{"default", postgres + ":5432", false},
		// Nor does an unlabelled pod inside the namespace (default-deny, both ways).
		{realNodeNamespace, backstage + ":7007", false},
		{realNodeNamespace, postgres + ":5432", false},
	}
	byNamespace := map[string][]string{}
	for _, f := range flows {
		byNamespace[f.namespace] = append(byNamespace[f.namespace], f.target)
	}
	results := map[string]map[string]string{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for ns, targets := range byNamespace {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := probe(t, ns, targets)
			mu.Lock()
			results[ns] = got
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, f := range flows {
		want := map[bool]string{true: "open", false: "closed"}[f.open]
		assert.Equal(t, want, results[f.namespace][f.target], "from a pod in %s to %s", f.namespace, f.target)
	}
	// Backstage to PostgreSQL is open: its readiness needs the database (checked above).
}

// probe runs a client pod on the real node in namespace that tries each host:port with a
// 3 s connect timeout, and returns "open" or "closed" per target as its last round found.
// A new pod's first packets may precede the network plugin's knowledge of it (its
// informers learn the pod's address a moment late; see realNodeAdditions), so the pod
// repeats its round until two rounds running agree, at most four rounds.
func probe(t *testing.T, namespace string, targets []string) map[string]string {
	name := fmt.Sprintf("probe-%d", time.Now().UnixNano()%1e9)
	round := `for t in ` + strings.Join(targets, " ") + `; do if nc -z -w 3 "${t%:*}" "${t#*:}"; then echo "$t open"; else echo "$t closed"; fi; done`
	script := `prev=; for i in 1 2 3 4; do cur=$(` + round + `); echo "$cur"; [ "$cur" = "$prev" ] && break; prev=$cur; done`
	runOnRealNode(t, name, namespace, "Never", script)
	defer func() { _, _ = kubectl(t, "delete", "pod", name, "-n", namespace, "--wait=false") }()
	_, err := kubectl(t, "wait", "-n", namespace, "--for=jsonpath={.status.phase}=Succeeded", "pod/"+name, "--timeout=120s")
	require.NoError(t, err)
	got := map[string]string{}
	for _, line := range strings.Split(podLogIn(t, namespace, name, "main"), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 {
			got[fields[len(fields)-2]] = fields[len(fields)-1]
		}
	}
	return got
}

// realNodeImageBump polls the health path through the Service every 100 ms on a new
// connection while two replicas roll to another image: not one request may fail.
func realNodeImageBump(t *testing.T, ctx context.Context, s *stackrun.Stack) {
	require.NoError(t, s.SetConfig(ctx, "backstage:replicas", auto.ConfigValue{Value: "2"}))
	require.NoError(t, cliUp(ctx, s))
	require.Len(t, backstagePods(t), 2)

	serviceIP := backstageServiceIP(t)
	stop := make(chan struct{})
	var ok, failed int
	var failures []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			status, body := getHealth(serviceIP)
			if status == http.StatusOK {
				ok++
			} else {
				failed++
				failures = append(failures, fmt.Sprintf("%s: %d %s", time.Now().Format("15:04:05.000"), status, body))
			}
		}
	}()
	require.NoError(t, s.SetConfig(ctx, "backstage:image", auto.ConfigValue{Value: "ghcr.io/arhean/backstage:realnode-2"}))
	require.NoError(t, cliUp(ctx, s))
	// The old pods' preStop pause outlasts the up; keep polling until they are gone.
	waitFor(t, "the old pods gone", 90*time.Second, func() bool {
		for _, pod := range allBackstagePods(t) {
			if fieldString(pod, "spec", "containers", "0", "image") != "ghcr.io/arhean/backstage:realnode-2" {
				return false
			}
		}
		return true
	})
	close(stop)
	<-done
	assert.Zero(t, failed, "failed requests during the rollout:\n%s", strings.Join(failures, "\n"))
	assert.Greater(t, ok, 100, "the client polled through the whole rollout")
	t.Logf("%d requests during the rollout, %d failed", ok+failed, failed)
}

// realNodeMajorCopy upgrades the server Backstage uses from Debian bookworm's
// PostgreSQL 15 to trixie's 17 through postgresUpgrade: the copy Job runs pg_dumpall 17
// against 15 and loads 17, every row arrives, the old server keeps its data, and
// Backstage runs on the new server with its catalog.
func realNodeMajorCopy(t *testing.T, ctx context.Context, s *stackrun.Stack) {
	appPassword := secretPassword(t, "psql-postgresql")
	sqlOn := func(pod, db, statement string) (string, error) {
		return psqlOn(t, pod, "backstage", appPassword, db, statement)
	}
	out, err := sqlOn("psql-postgresql-0", "backstage_plugin_catalog",
		"INSERT INTO test_rows SELECT g, 'entity-' || g FROM generate_series(2, 1000) g")
	require.NoError(t, err, out)
	out, err = sqlOn("psql-postgresql-0", "backstage_plugin_catalog", "CREATE DATABASE backstage_plugin_scaffolder")
	require.NoError(t, err, out)
	out, err = sqlOn("psql-postgresql-0", "backstage_plugin_scaffolder", "CREATE TABLE tasks (id int); INSERT INTO tasks VALUES (1), (2), (3)")
	require.NoError(t, err, out)
	out, err = sqlOn("psql-postgresql-0", "backstage_plugin_catalog", "SHOW server_version_num")
	require.NoError(t, err, out)
	assert.True(t, strings.HasPrefix(out, "15"), "the first server is PostgreSQL 15: %s", out)

	require.NoError(t, s.SetConfig(ctx, "backstage:postgresMajorVersion", auto.ConfigValue{Value: "17"}))
	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:postgresUpgrade.from", auto.ConfigValue{Value: "15"}, &auto.ConfigOptions{Path: true}))
	require.NoError(t, cliUp(ctx, s), "the copy Job runs to completion")
	assert.Empty(t, backstagePods(t), "Backstage is stopped while the copy runs")
	assert.Contains(t, jobLog(t, "psql-postgresql-upgrade-15-to-17"), "copied from PostgreSQL 15: backstage_plugin_catalog,backstage_plugin_scaffolder,postgres")

	out, err = sqlOn("psql-postgresql-17-0", "backstage_plugin_catalog", "SELECT current_setting('server_version_num') || ':' || count(*) FROM test_rows")
	require.NoError(t, err, out)
	assert.True(t, strings.HasPrefix(out, "17") && strings.HasSuffix(out, ":1000"), "every row on PostgreSQL 17: %s", out)
	out, err = sqlOn("psql-postgresql-17-0", "backstage_plugin_scaffolder", "SELECT count(*) FROM tasks")
	require.NoError(t, err, out)
	assert.Equal(t, "3", out, "the plugin database too")
	out, err = sqlOn("psql-postgresql-17-0", "backstage_plugin_catalog", "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user")
	require.NoError(t, err, out)
	assert.Equal(t, "false", out, "the app role logs in to the new server, still no superuser")

	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:postgresUpgrade.done", auto.ConfigValue{Value: "true"}, &auto.ConfigOptions{Path: true}))
	require.NoError(t, cliUp(ctx, s), "Backstage starts on the new server")
	assert.Equal(t, "psql-postgresql-17."+realNodeNamespace+".svc.cluster.local",
		fieldString(objectIn(t, "configmap", "backstage-env-config", realNodeNamespace), "data", "POSTGRES_HOST"))
	assert.Contains(t, waitForHealth(t), `"status":"ok"`, "Backstage answers on PostgreSQL 17 with the copied catalog")
	out, err = sqlOn("psql-postgresql-0", "backstage_plugin_catalog", "SELECT count(*) FROM test_rows")
	require.NoError(t, err, out)
	assert.Equal(t, "1000", out, "the old server is retained with its data, and the app role may log in to it again")
}

// allBackstagePods are the Backstage pods, terminating ones included.
func allBackstagePods(t *testing.T) []map[string]any {
	t.Helper()
	out, err := kubectl(t, "get", "pods", "-n", realNodeNamespace, "-l", "app=backstage", "-o", "json")
	require.NoError(t, err)
	var list map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	items, _ := field(list, "items").([]any)
	pods := make([]map[string]any, 0, len(items))
	for _, item := range items {
		pods = append(pods, item.(map[string]any))
	}
	return pods
}

// backstagePods are the Backstage pods that are not terminating.
func backstagePods(t *testing.T) []map[string]any {
	t.Helper()
	var pods []map[string]any
	for _, pod := range allBackstagePods(t) {
		if field(pod, "metadata", "deletionTimestamp") == nil {
			pods = append(pods, pod)
		}
	}
	return pods
}

func backstageServiceIP(t *testing.T) string {
	t.Helper()
	ip := fieldString(objectIn(t, "service", "backstage", realNodeNamespace), "spec", "clusterIP")
	require.NotEmpty(t, ip)
	return ip
}

// waitForHealth asks the health path through the Service until it answers 200 (for up to
// 30 s: kube-proxy programs a Service's new endpoints a moment after the pods are
// Ready) and returns the body.
func waitForHealth(t *testing.T) string {
	t.Helper()
	serviceIP := backstageServiceIP(t)
	var status int
	var body string
	waitFor(t, "Backstage's health path through its Service", 30*time.Second, func() bool {
		status, body = getHealth(serviceIP)
		return status == http.StatusOK
	})
	return body
}

// getHealth asks Backstage's health path through the Service's cluster IP (kube-proxy),
// on a new connection each time.
func getHealth(serviceIP string) (int, string) {
	client := http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + serviceIP + "/.backstage/health/v1/readiness")
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, string(body)
}

func conditionTime(t *testing.T, obj map[string]any, condition string) time.Time {
	t.Helper()
	conditions, _ := field(obj, "status", "conditions").([]any)
	for _, c := range conditions {
		if fieldString(c, "type") == condition {
			at, err := time.Parse(time.RFC3339, fieldString(c, "lastTransitionTime"))
			require.NoError(t, err)
			return at
		}
	}
	t.Fatalf("no %s condition", condition)
	return time.Time{}
}

// psqlOn runs one statement with the host's psql against a pod's address, over the pod
// network (the node's root user passes NetworkPolicies, as the kubelet's probes do),
// and returns its unaligned result.
func psqlOn(t *testing.T, pod, user, password, db, statement string) (string, error) {
	return psqlIn(t, realNodeNamespace, pod, user, password, db, statement)
}

// psqlIn is psqlOn for a pod in any namespace.
func psqlIn(t *testing.T, namespace, pod, user, password, db, statement string) (string, error) {
	ip := fieldString(objectIn(t, "pod", pod, namespace), "status", "podIP")
	cmd := exec.Command("psql", "-X", "-A", "-t", "-h", ip, "-U", user, "-d", db, "-c", statement)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=5")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func secretPassword(t *testing.T, name string) string {
	t.Helper()
	return secretPasswordIn(t, realNodeNamespace, name)
}

func secretPasswordIn(t *testing.T, namespace, name string) string {
	t.Helper()
	decoded, err := base64.StdEncoding.DecodeString(fieldString(objectIn(t, "secret", name, namespace), "data", "password"))
	require.NoError(t, err)
	return string(decoded)
}

// podLog reads a container's log from the node's log folder (the API server has no
// kubelet client certificate here, so `kubectl logs` cannot reach the node).
func podLog(t *testing.T, pod, container string) string {
	return podLogIn(t, realNodeNamespace, pod, container)
}

func podLogIn(t *testing.T, namespace, pod, container string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("/var/log/pods", namespace+"_"+pod+"_*", container, "*.log"))
	var all strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		all.Write(data)
	}
	return all.String()
}

func jobLog(t *testing.T, job string) string {
	t.Helper()
	return jobLogIn(t, realNodeNamespace, job)
}

// realNodeAdditions runs the platform's additions on real containers: a native
// sidecar beside Backstage, a variable from an existing Secret (the platform's store's)
// that reaches Backstage's process, and an egress rule that opens one port of a server
// in another namespace while another port of the same address stays closed. The
// sidecar probes both ports: it shares Backstage's pod, so Backstage's policy is its.
// The variable is seen in a response header Backstage takes from app-config
// (backend.health.headers), where it is substituted from the environment.
func realNodeAdditions(t *testing.T, ctx context.Context, s *stackrun.Stack) {
	const targetNamespace = "egress-target"
	_, _ = kubectl(t, "create", "namespace", targetNamespace)
	t.Cleanup(func() { _, _ = kubectl(t, "delete", "namespace", targetNamespace, "--wait=false") })
	runOnRealNode(t, "server", targetNamespace, "Always", `for p in 18200 18201; do (while true; do nc -l -p $p </dev/null; done) & done; wait`)
	_, err := kubectl(t, "wait", "-n", targetNamespace, "--for=condition=Ready", "pod/server", "--timeout=120s")
	require.NoError(t, err)
	ip := fieldString(objectIn(t, "pod", "server", targetNamespace), "status", "podIP")
	require.NotEmpty(t, ip)

	_, err = kubectl(t, "create", "secret", "generic", "backstage-extra", "-n", realNodeNamespace, "--from-literal=EXTRA_GREETING=hello-from-the-platform")
	require.NoError(t, err)
	probeScript := fmt.Sprintf(`while true; do for p in 18200 18201; do if nc -z -w 3 %s $p; then echo "port $p open"; else echo "port $p closed"; fi; done; sleep 5; done`, ip)
	for key, value := range map[string]string{
		"appConfig":   `{"backend":{"health":{"headers":{"x-platform-greeting":"${EXTRA_GREETING}"}}}}`,
		"egressRules": fmt.Sprintf(`[{"cidrs":["%s/32"],"ports":[{"port":18200}]}]`, ip),
		"sidecars":    fmt.Sprintf(`[{"name":"egress-probe","image":"busybox:1.36","command":["sh","-c",%q]}]`, probeScript),
	} {
		require.NoError(t, s.SetConfig(ctx, "backstage:"+key, auto.ConfigValue{Value: value}), key)
	}
	require.NoError(t, s.SetConfigWithOptions(ctx, "backstage:envFromSecrets[0]", auto.ConfigValue{Value: "backstage-extra"}, &auto.ConfigOptions{Path: true}))
	require.NoError(t, cliUp(ctx, s), "Backstage rolls out with a sidecar under Pod Security restricted")

	pod := backstagePods(t)[0]
	name := fieldString(pod, "metadata", "name")
	assert.Equal(t, "egress-probe", fieldString(pod, "status", "initContainerStatuses", "0", "name"))
	assert.NotNil(t, field(pod, "status", "initContainerStatuses", "0", "state", "running"), "the sidecar runs")
	assert.NotNil(t, field(pod, "status", "containerStatuses", "0", "state", "running"), "beside Backstage")

	serviceIP := backstageServiceIP(t)
	var greeting string
	waitFor(t, "Backstage's readiness answer with the header from the Secret's variable", 30*time.Second, func() bool {
		client := http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get("http://" + serviceIP + "/.backstage/health/v1/readiness")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		greeting = resp.Header.Get("X-Platform-Greeting")
		return greeting != ""
	})
	assert.Equal(t, "hello-from-the-platform", greeting, "the existing Secret's variable reached Backstage's process")

	// Judged by where the probes settle, not by every probe: a network plugin enforces a
	// new pod's policies, and a changed policy, a moment after the pod starts (the
	// NetworkPolicy documentation, "Pod lifecycle", allows a pod to start before then), and
	// kube-network-policies learns both from its informers. Seen here: 18201 open in the
	// first round after Ready and closed from the next; in another run 18200 closed in the
	// first round and open from the next. So each port must reach its verdict within a
	// bound and hold it for settledRounds rounds running; a rule that opens nothing, or
	// opens the whole address, never settles and fails.
	ready := conditionTime(t, objectIn(t, "pod", name, realNodeNamespace), "Ready")
	var probes map[string][]string
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(time.Second) {
		probes = probesSince(podLog(t, name, "egress-probe"), ready)
		if settled(probes["18200"], "open") && settled(probes["18201"], "closed") || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("the sidecar's probes since Backstage was Ready: 18200 %v, 18201 %v", probes["18200"], probes["18201"])
	assert.True(t, settled(probes["18200"], "open"), "the egress rule opens its address and port: %v", probes["18200"])
	assert.True(t, settled(probes["18201"], "closed"), "and not another port of the same address: %v", probes["18201"])
}

// settledRounds is how many of the egress probe's rounds running (5 s apart) make a
// port's verdict settled.
const settledRounds = 3

// settled reports whether a port's last settledRounds probes all found want.
func settled(results []string, want string) bool {
	if len(results) < settledRounds {
		return false
	}
	for _, r := range results[len(results)-settledRounds:] {
		if r != want {
			return false
		}
	}
	return true
}

// probesSince reads the egress probe's log lines (CRI format: time, stream, tag, text)
// from since on, as each port's results in order.
func probesSince(log string, since time.Time) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(log, "\n") {
		f := strings.Fields(line)
		if len(f) != 6 || f[3] != "port" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, f[0])
		if err != nil || at.Before(since) {
			continue
		}
		out[f[4]] = append(out[f[4]], f[5])
	}
	return out
}

// runOnRealNode starts a restricted busybox pod on the real node whose container, main,
// runs script.
func runOnRealNode(t *testing.T, name, namespace, restartPolicy, script string) {
	t.Helper()
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s}
spec:
  restartPolicy: %s
  nodeSelector: {kubernetes.io/hostname: %s}
  tolerations: [{key: realnode, operator: Exists, effect: NoSchedule}]
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: main
    image: busybox:1.36
    command: [sh, -c, %q]
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`, name, namespace, restartPolicy, realNode, script)
	// Not in t.TempDir(): a subtest's name can hold a comma, which `kubectl -f` splits on.
	file, err := os.CreateTemp("", name+"-*.yaml")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.Remove(file.Name()) })
	_, err = file.WriteString(manifest)
	require.NoError(t, errors.Join(err, file.Close()))
	_, err = kubectl(t, "apply", "-f", file.Name())
	require.NoError(t, err)
}
