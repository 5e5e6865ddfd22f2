package config

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/names"
	"github.com/arhean/backstage-pulumi/components/postgres"
)

// Where the database is: the in-cluster StatefulSet, or a managed PostgreSQL (RDS,
// Cloud SQL, Azure) reached over TLS. These follow keys_app.go's in the table.

// Database modes.
const (
	DatabaseInCluster = "in-cluster"
	DatabaseExternal  = "external"
)

// ExternalDatabase is a managed PostgreSQL Backstage reaches over TLS.
type ExternalDatabase struct {
	Host                string
	Port                int
	User                string
	Password            pulumi.StringInput
	SSLMode             string
	SSLModeAcknowledged bool
	CABundle            string
	CIDRs               []string
}

var KeyDatabase = &Key[string]{
	Setting: Setting{Name: "database", Example: DatabaseExternal,
		Description: "in-cluster (a PostgreSQL StatefulSet) or external (a managed PostgreSQL, with the database* keys)."},
	Default: DatabaseInCluster,
	Into:    func(s *Stack) *string { return &s.Database },
	Check:   oneOf(DatabaseInCluster, DatabaseExternal),
}

var KeyDatabaseHost = &Key[string]{
	Setting: Setting{Name: "databaseHost", Example: "backstage.abc123.eu-west-1.rds.amazonaws.com",
		Description: "The external database's host name (or address); required with database: external."},
	Into:  func(s *Stack) *string { return &s.External.Host },
	Check: hostOrAddress,
}

var KeyDatabasePort = &Key[int]{
	Setting: Setting{Name: "databasePort", Example: "6432",
		Description: "The external database's port."},
	Default: names.PostgresPort,
	Into:    func(s *Stack) *int { return &s.External.Port },
	Check:   between(1, 65535, "a TCP port"),
}

var KeyDatabaseUser = &Key[string]{
	Setting: Setting{Name: "databaseUser", Example: "backstage",
		Description: "The external database role Backstage logs in as: LOGIN CREATEDB, no superuser (Backstage creates a database per plugin)."},
	Into:  func(s *Stack) *string { return &s.External.User },
	Check: optionalPostgresRole,
}

var KeyDatabasePassword = &Key[pulumi.StringInput]{
	Setting: Setting{Name: "databasePassword", Secret: true, Example: "<password>",
		Description: "The password of databaseUser; required with database: external."},
	Into: func(s *Stack) *pulumi.StringInput { return &s.External.Password },
}

var KeyDatabaseSSLMode = &Key[string]{
	Setting: Setting{Name: "databaseSslMode", InProduction: "anything but verify-full, unless databaseSslModeAcknowledged", Example: "verify-full",
		Description: "TLS to the external database: require (encrypt only), verify-ca or verify-full (check the certificate and host name); production needs verify-full unless acknowledged."},
	Default: "verify-full",
	Into:    func(s *Stack) *string { return &s.External.SSLMode },
	Check:   oneOf("require", "verify-ca", "verify-full"),
}

var KeyDatabaseSSLModeAcknowledged = &Key[bool]{
	Setting: Setting{Name: "databaseSslModeAcknowledged", Example: "true",
		Description: "Production's explicit acceptance of a databaseSslMode weaker than verify-full."},
	Into: func(s *Stack) *bool { return &s.External.SSLModeAcknowledged },
}

var KeyDatabaseCABundle = &Key[string]{
	Setting: Setting{Name: "databaseCaBundle", Example: "-----BEGIN CERTIFICATE-----...",
		Description: "PEM certificates that sign the external database's certificate (the RDS, Cloud SQL or Azure CA bundle)."},
	Into:  func(s *Stack) *string { return &s.External.CABundle },
	Check: pemCertificates,
}

var KeyDatabaseCIDRs = &Key[[]string]{
	Setting: Setting{Name: "databaseCidrs", Example: "10.20.0.0/24",
		Description: "The external database's addresses (a YAML list of CIDRs): the only ones Backstage's egress policy allows on databasePort."},
	Default: []string{},
	Into:    func(s *Stack) *[]string { return &s.External.CIDRs },
	Check:   cidrList("10.20.0.0/24"),
}

var KeyDatabasePlugins = &Key[int]{
	Setting: Setting{Name: "databasePlugins", Example: "12",
		Description: "How many backend plugins keep a database (one connection pool each; count them in packages/backend/src/index.ts): with replicas and maxSurge it sizes each plugin's pool to fit postgresMaxConnections."},
	Default: postgres.DefaultDatabasePlugins,
	Into:    func(s *Stack) *int { return &s.DatabasePlugins },
	Check:   between(1, 100, "the backend plugins that keep a database"),
}

func hostOrAddress(v string) error {
	if v == "" || net.ParseIP(v) != nil {
		return nil
	}
	if errs := validation.IsDNS1123Subdomain(v); len(errs) > 0 {
		return fmt.Errorf("%q is neither a DNS name nor an IP address (%s)", v, errs[0])
	}
	return nil
}

func optionalPostgresRole(v string) error {
	if v == "" {
		return nil
	}
	return postgresRole(v)
}

// checkDatabaseRules applies the rules between the database keys.
func checkDatabaseRules(s *Stack, refused keySet) (out []finding) {
	if s.Database != DatabaseExternal {
		if s.External.Host != "" {
			out = append(out, problem(KeyDatabaseHost.Name, "is set but %s is %s; set `%s external` to use it", KeyDatabase.Name, s.Database, KeyDatabase.FullName()))
		}
		out = append(out, checkConnectionBudget(s, refused)...)
		out = append(out, checkUpgradeRules(s, refused)...)
		return
	}
	out = append(out, checkUpgradeRules(s, refused)...)
	for _, missing := range []struct {
		unset bool
		key   *Setting
	}{{s.External.Host == "", &KeyDatabaseHost.Setting}, {s.External.User == "", &KeyDatabaseUser.Setting}} {
		if missing.unset {
			out = append(out, problem(missing.key.Name, "is required with database: external; `pulumi config set %s %s`", missing.key.FullName(), missing.key.Example))
		}
	}
	if s.External.Password == nil {
		out = append(out, problem(KeyDatabasePassword.Name, "is required with database: external; `pulumi config set --secret %s <password>`", KeyDatabasePassword.FullName()))
	}
	if s.NetworkPolicies && len(s.External.CIDRs) == 0 {
		out = append(out, problem(KeyDatabaseCIDRs.Name, "is required with database: external and networkPolicies: the egress policy lets Backstage reach only these addresses; `pulumi config set --path '%s[0]' %s`",
			KeyDatabaseCIDRs.FullName(), KeyDatabaseCIDRs.Example))
	}
	if s.Environment == Production && s.External.SSLMode != "verify-full" && !s.External.SSLModeAcknowledged {
		out = append(out, problem(KeyDatabaseSSLMode.Name, "is %s, which does not check the server's host name (require: not even its certificate); production uses verify-full, or `pulumi config set %s true` to accept it",
			s.External.SSLMode, KeyDatabaseSSLModeAcknowledged.FullName()))
	}
	return out
}

var KeyBackup = &Key[*Backup]{
	Setting: Setting{Name: "backup", Example: "{schedule: \"17 3 * * *\", retention: 7, size: 8Gi}",
		Description: "Nightly pg_dump of every Backstage database into a retained claim (schedule, retention, size, storageClass or existingClaim); in-cluster and external alike. With objectStore {endpoint, bucket, prefix, region, uriStyle, retentionDays, credentialsSecret or serviceAccountAnnotations, caBundle, encryptionSecret, restoreFrom}, the backups go to an S3 bucket instead, where they outlive the cluster: the in-cluster database's base backups (on the schedule) and every WAL segment with pgBackRest, for point-in-time recovery; an external database's dumps, streamed there with rclone (docs/operations.md: Backups)."},
	Into:  func(s *Stack) **Backup { return &s.Backup },
	Check: validBackup,
}

func validBackup(b *Backup) error {
	if b == nil {
		return nil
	}
	// The parser the CronJob controller uses, so a schedule it would reject never passes.
	if strings.Contains(b.Schedule, "TZ=") {
		return fmt.Errorf("schedule %q names a time zone, which the API server refuses in a CronJob's schedule; write the schedule in the cluster's time zone (UTC)", b.Schedule)
	}
	if _, err := cron.ParseStandard(b.Schedule); b.Schedule != "" && err != nil {
		return fmt.Errorf("schedule %q is not a five-field cron schedule such as \"17 3 * * *\" (%v)", b.Schedule, err)
	}
	if b.Retention != 0 {
		if err := postgres.CheckBackupRetention(b.Retention); err != nil {
			return fmt.Errorf("retention %w", err)
		}
	}
	if b.Size != "" {
		if err := postgres.CheckBackupSize(b.Size); err != nil {
			return fmt.Errorf("size %w", err)
		}
	}
	if b.ObjectStore != nil {
		if err := validObjectStore(b); err != nil {
			return err
		}
	}
	if b.ExistingClaim != "" {
		// An existing claim was made with its own size and class: these would do nothing.
		for _, inert := range []struct{ field, value string }{{"size", b.Size}, {"storageClass", b.StorageClass}} {
			if inert.value != "" {
				return fmt.Errorf("has both existingClaim and %s; an existing claim has its own %s, so %s does nothing: remove it", inert.field, inert.field, inert.field)
			}
		}
	}
	return dnsSubdomain("claim")(b.ExistingClaim)
}

// validObjectStore checks the bucket's settings, and that the claim's settings, which
// the bucket replaces, are not set beside it.
func validObjectStore(b *Backup) error {
	if err := b.ObjectStore.args().Check(); err != nil {
		return fmt.Errorf("objectStore %w", err)
	}
	if err := cidrList("10.20.0.0/24")(b.ObjectStore.CIDRs); err != nil {
		return fmt.Errorf("objectStore.cidrs %w", err)
	}
	for _, inert := range []struct {
		field string
		set   bool
	}{{"retention", b.Retention != 0}, {"size", b.Size != ""}, {"storageClass", b.StorageClass != ""}, {"existingClaim", b.ExistingClaim != ""}} {
		if inert.set {
			return fmt.Errorf("has both objectStore and %s, a setting of the claim the bucket replaces, so %s does nothing: remove it (objectStore.retentionDays keeps the bucket's backups)", inert.field, inert.field)
		}
	}
	days := b.ObjectStore.RetentionDays
	if days == 0 {
		days = postgres.DefaultRetentionDays
	}
	schedule := b.Schedule
	if schedule == "" {
		schedule = postgres.DefaultBackupSchedule
	}
	if gap := longestInterval(schedule); gap > time.Duration(days)*24*time.Hour {
		return fmt.Errorf("objectStore.retentionDays %d is shorter than the %s between two base backups on schedule %q, so there would be times with no backup to restore from: keep at least %d days, or back up more often",
			days, gap.Round(time.Hour), schedule, int((gap+24*time.Hour-1)/(24*time.Hour)))
	}
	return nil
}

// longestInterval is the longest time between two runs of a valid cron schedule over
// four years (a leap day included); 0 when it cannot be read.
func longestInterval(schedule string) time.Duration {
	parsed, err := cron.ParseStandard(schedule)
	if err != nil {
		return 0
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(4, 0, 0)
	var longest time.Duration
	prev := parsed.Next(start)
	// A schedule that fires often is checked over fewer runs: its gaps are short anyway.
	for i := 0; i < 20000 && !prev.IsZero() && prev.Before(end); i++ {
		next := parsed.Next(prev)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev = next
	}
	return longest
}

var KeyPostgresUpgrade = &Key[*PostgresUpgrade]{
	Setting: Setting{Name: "postgresUpgrade", Example: "{from: 14}",
		Description: "A move of the data to postgresMajorVersion from the server of major `from`: Backstage stops and a Job copies every database into a new server beside the old one; then `done: true` runs Backstage on it and retains the old one (docs/operations.md: Upgrading PostgreSQL)."},
	Into:  func(s *Stack) **PostgresUpgrade { return &s.Upgrade },
	Check: validUpgradeShape,
}

func validUpgradeShape(u *PostgresUpgrade) error {
	if u != nil && u.From == 0 {
		return fmt.Errorf("has no from: the major of the server the data comes from, e.g. {from: 14}")
	}
	return nil
}

// checkUpgradeRules keeps an upgrade in-cluster and upwards, and stops Backstage while
// the copy runs.
func checkUpgradeRules(s *Stack, refused keySet) (out []finding) {
	u := s.Upgrade.args()
	if u == nil {
		return
	}
	if s.Database != DatabaseInCluster {
		out = append(out, problem(KeyPostgresUpgrade.Name, "is set but %s is %s; a managed database's major is its provider's to upgrade", KeyDatabase.Name, s.Database))
		return
	}
	to := s.Postgres.MajorVersion
	if err := u.Validate(to); err != nil {
		out = append(out, problem(KeyPostgresUpgrade.Name, "%v; set %s to the new major and from to the running server's", err, KeyPostgresMajorVersion.FullName()))
		return
	}
	server := postgres.ServerName(to, u)
	if u.Done {
		return
	}
	out = append(out, warning(fmt.Sprintf("%s: Backstage is stopped while the Job %s copies the data from PostgreSQL %d into %s; "+
		"when its log ends with \"copied from PostgreSQL %d\", set `pulumi config set --path %s.done true` and run up again",
		KeyPostgresUpgrade.FullName(), u.CopyJobName(to), u.From, server, u.From, KeyPostgresUpgrade.FullName())))
	return out
}

var KeyMaintenance = &Key[bool]{
	Setting: Setting{Name: "maintenance", Example: "true",
		Description: "Stop Backstage (no pod) so that nothing writes to the database during a restore or a major upgrade; the Ingress answers 503 meanwhile."},
	Into: func(s *Stack) *bool { return &s.App.Stopped },
	Warn: warnWhen(true, "Backstage is stopped for maintenance: no pod runs until it is false again"),
}

// checkConnectionBudget sizes the pool each plugin keeps so that every pod at a
// rollout's peak fits the in-cluster server's max_connections, or checks the pool the
// stack's app-config sets. An external server's limit is its provider's, unknown here.
func checkConnectionBudget(s *Stack, refused keySet) (out []finding) {
	if refused.any(KeyReplicas.Name, KeyAutoscaling.Name, KeyMaxSurge.Name, KeyDatabasePlugins.Name, KeyPostgresMaxConnections.Name) {
		return
	}
	budget := s.connectionBudget()
	poolMaxKey := KeyAppConfig.Name + " " + strings.Join(backstage.PoolMaxPath, ".")
	if value, set := backstage.AppConfigValue(s.App.AppConfig, backstage.PoolMaxPath...); set {
		pool, isNumber := value.(float64)
		if !isNumber {
			out = append(out, warning(fmt.Sprintf("%s is %v, not a number, so its connection budget against %s is not checked",
				poolMaxKey, value, KeyPostgresMaxConnections.FullName())))
			return
		}
		if needed := budget.Needed(int(pool)); needed > budget.MaxConnections {
			out = append(out, problem(KeyAppConfig.Name, "sets %s to %v: at a rollout's peak %d pods x %d plugins (%s) need %d connections, above %s %d; lower it to %d or set %s to %d",
				strings.Join(backstage.PoolMaxPath, "."), pool, budget.PeakPods, budget.Plugins, KeyDatabasePlugins.Name, needed,
				KeyPostgresMaxConnections.Name, budget.MaxConnections, max(budget.PoolMax(), 1), KeyPostgresMaxConnections.FullName(), needed))
		}
		return
	}
	if budget.PoolMax() < postgres.MinPoolMax {
		needed := budget.Needed(postgres.MinPoolMax)
		pods := KeyReplicas.Name
		if s.App.Autoscaling != nil {
			pods = KeyAutoscaling.Name + ".maxReplicas"
		}
		out = append(out, problem(KeyPostgresMaxConnections.Name, "is %d: at a rollout's peak %d pods (%s plus %s) x %d plugins (%s) need %d connections for pools of %d; set `%s %d`, or lower %s",
			budget.MaxConnections, budget.PeakPods, pods, KeyMaxSurge.Name, budget.Plugins, KeyDatabasePlugins.Name, needed, postgres.MinPoolMax,
			KeyPostgresMaxConnections.FullName(), needed, pods))
	}
	return out
}

// connectionBudget is what the in-cluster server's connections must serve at a
// rollout's peak.
func (s *Stack) connectionBudget() postgres.ConnectionBudget {
	return postgres.ConnectionBudget{MaxConnections: s.Postgres.MaxConnections, PeakPods: peakPods(s.App), Plugins: s.DatabasePlugins}
}

// DatabasePoolMax is the pool each plugin keeps on the in-cluster server, sized by the
// connection budget; 0 (Knex's default) for an external server, whose limit is its
// provider's, and where the stack's app-config sets the pool itself.
func (s *Stack) DatabasePoolMax() int {
	if s.Database != DatabaseInCluster {
		return 0
	}
	if _, set := backstage.AppConfigValue(s.App.AppConfig, backstage.PoolMaxPath...); set {
		return 0
	}
	return s.connectionBudget().PoolMax()
}

// upgradeCopying says whether a major upgrade's copy runs, during which Backstage is
// stopped so that nothing writes to the old server.
func (s *Stack) upgradeCopying() bool {
	u := s.Upgrade.args()
	return s.Database == DatabaseInCluster && u != nil && !u.Done
}

// peakPods is replicas plus the surge a rolling update adds (rounded up, as the
// Deployment controller does); Recreate stops the old pods first.
func peakPods(app backstage.BackstageArgs) int {
	replicas := app.Replicas
	if app.Autoscaling != nil {
		// The autoscaler may run every pod it is allowed when a rollout starts.
		replicas = app.Autoscaling.MaxReplicas
	}
	if app.RolloutStrategy == "Recreate" {
		return replicas
	}
	surge := intstr.Parse(app.MaxSurge)
	n, err := intstr.GetScaledValueFromIntOrPercent(&surge, replicas, true)
	if err != nil {
		return replicas
	}
	return replicas + n
}
