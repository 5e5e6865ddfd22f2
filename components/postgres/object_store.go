package postgres

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
)

// pgBackRest keeps the in-cluster server's base backups and its WAL in an S3-compatible
// object store (docs/decisions/0016-pgbackrest-to-object-storage.md says why pgBackRest).
// Its settings reach every process that runs it as PGBACKREST_* variables: the server's
// archive_command, the base-backup CronJob and the restore.

const (
	// Stanza is pgBackRest's name for the one server it backs up.
	Stanza = "backstage"
	// ArchiveCommand is the server's archive_command: each WAL segment is in the store
	// before PostgreSQL may recycle it, and a failed push is retried and counted in
	// pg_stat_archiver.failed_count (the signal docs/operations.md tells teams to alert on).
	ArchiveCommand = "pgbackrest archive-push %p"
	// ArchiveTimeout bounds how old the newest unarchived write can be on a quiet server:
	// PostgreSQL switches to a new WAL segment (and so archives) at least this often.
	ArchiveTimeout = "60s"
	// Where the pods find the endpoint's CA bundle and write pgBackRest's lock files.
	objectStoreCADir = "/etc/pgbackrest/ca"
	pgbackrestTmp    = "/tmp"
	// The keys of an existing credentials Secret: the names the AWS tools use.
	AccessKeyIDKey     = "AWS_ACCESS_KEY_ID"
	SecretAccessKeyKey = "AWS_SECRET_ACCESS_KEY"
	// EncryptionPassphraseKey is the key of the encryption Secret.
	EncryptionPassphraseKey = "passphrase"
)

// ObjectStore is an S3-compatible bucket for the in-cluster server's base backups and WAL.
type ObjectStore struct {
	// Required: the S3 endpoint, host or host:port; pgBackRest speaks HTTPS only.
	Endpoint string
	// Required: the bucket.
	Bucket string
	// Required: the folder in the bucket, one per stack (the stack's default is
	// /<namespace>).
	Prefix string
	// Optional: defaults to DefaultObjectStoreRegion.
	Region string
	// Optional: defaults to host (bucket.endpoint); path (endpoint/bucket) for stores
	// without virtual-host names.
	URIStyle string
	// Optional: defaults to DefaultRetentionDays. Full backups older than this, and the
	// WAL only they need, are expired; a time this recent can always be restored.
	RetentionDays int
	// One of: an existing Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or
	// ServiceAccount annotations that give the pods a cloud identity (web identity).
	CredentialsSecret         string
	ServiceAccountAnnotations map[string]string
	// Optional: defaults to every public address. The store's addresses, which the
	// NetworkPolicies let the server and the backup pods reach on the endpoint's port.
	CIDRs []string
	// Optional: the PEM CA bundle of a private endpoint's certificate.
	CABundle string
	// Optional: an existing Secret whose `passphrase` encrypts everything in the bucket
	// (client-side, AES-256-CBC): the team holds the key, not the store's owner.
	EncryptionSecret string
	// Optional: another stack's prefix in the same bucket. A new stack's server starts
	// from the end of that stack's archive, on an empty volume only, with this stack's
	// passwords (bootstrap-from-bucket.sh); it archives to its own Prefix.
	RestoreFrom string
}

const (
	DefaultObjectStoreRegion = "us-east-1"
	DefaultRetentionDays     = 14
	MaxRetentionDays         = 3650
)

func (o ObjectStore) withDefaults() ObjectStore {
	if o.Region == "" {
		o.Region = DefaultObjectStoreRegion
	}
	if o.URIStyle == "" {
		o.URIStyle = "host"
	}
	if o.RetentionDays == 0 {
		o.RetentionDays = DefaultRetentionDays
	}
	return o
}

var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// Check refuses what pgBackRest or the store would only refuse at the first push, hours
// after the up: each error names the field and the fix.
func (o ObjectStore) Check() error {
	switch {
	case o.Endpoint == "":
		return fmt.Errorf("has no endpoint: the S3 host, e.g. s3.eu-west-1.amazonaws.com")
	case strings.Contains(o.Endpoint, "://"):
		return fmt.Errorf("endpoint %q has a scheme; give the host (and :port) only: pgBackRest speaks HTTPS only", o.Endpoint)
	case o.Bucket == "":
		return fmt.Errorf("has no bucket")
	case !bucketName.MatchString(o.Bucket) || strings.Contains(o.Bucket, ".."):
		return fmt.Errorf("bucket %q is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)", o.Bucket)
	case o.Prefix != "" && (!strings.HasPrefix(o.Prefix, "/") || strings.HasSuffix(o.Prefix, "/") && o.Prefix != "/"):
		return fmt.Errorf("prefix %q must start with / and not end with one, e.g. /backstage-prod", o.Prefix)
	case o.RestoreFrom != "" && (!strings.HasPrefix(o.RestoreFrom, "/") || strings.HasSuffix(o.RestoreFrom, "/")):
		return fmt.Errorf("restoreFrom %q must be the other stack's prefix: it starts with / and does not end with one, e.g. /backstage-prod", o.RestoreFrom)
	case o.URIStyle != "" && o.URIStyle != "host" && o.URIStyle != "path":
		return fmt.Errorf("uriStyle %q is neither host nor path", o.URIStyle)
	case o.RetentionDays < 0 || o.RetentionDays > MaxRetentionDays:
		return fmt.Errorf("retentionDays %d is outside 1 to %d", o.RetentionDays, MaxRetentionDays)
	case o.CredentialsSecret == "" && len(o.ServiceAccountAnnotations) == 0:
		return fmt.Errorf("has no credentials: name an existing Secret with %s and %s (credentialsSecret), or give the pods a cloud identity (serviceAccountAnnotations, e.g. eks.amazonaws.com/role-arn)", AccessKeyIDKey, SecretAccessKeyKey)
	case o.CredentialsSecret != "" && len(o.ServiceAccountAnnotations) > 0:
		return fmt.Errorf("has both credentialsSecret and serviceAccountAnnotations; pgBackRest uses one: remove the other")
	}
	if host, port, err := net.SplitHostPort(o.Endpoint); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
			return fmt.Errorf("endpoint %q has no valid port", o.Endpoint)
		}
	}
	return nil
}

// Port is the endpoint's port: 443 unless it names one.
func (o ObjectStore) Port() int {
	_, port := o.hostPort()
	n, _ := strconv.Atoi(port)
	return n
}

// hostPort splits the endpoint; the port is 443 unless given.
func (o ObjectStore) hostPort() (string, string) {
	if host, port, err := net.SplitHostPort(o.Endpoint); err == nil {
		return host, port
	}
	return o.Endpoint, "443"
}

// Settings are pgBackRest's plain settings for a process beside the data folder;
// caFile is where the endpoint's CA bundle is mounted ("" for the system's).
func (o ObjectStore) Settings(dataDir, caFile string) map[string]string {
	host, port := o.hostPort()
	env := map[string]string{
		"PGBACKREST_STANZA":                    Stanza,
		"PGBACKREST_PG1_PATH":                  dataDir,
		"PGBACKREST_REPO1_TYPE":                "s3",
		"PGBACKREST_REPO1_S3_ENDPOINT":         host,
		"PGBACKREST_REPO1_STORAGE_PORT":        port,
		"PGBACKREST_REPO1_S3_BUCKET":           o.Bucket,
		"PGBACKREST_REPO1_S3_REGION":           o.Region,
		"PGBACKREST_REPO1_S3_URI_STYLE":        o.URIStyle,
		"PGBACKREST_REPO1_PATH":                o.Prefix,
		"PGBACKREST_REPO1_RETENTION_FULL_TYPE": "time",
		"PGBACKREST_REPO1_RETENTION_FULL":      strconv.Itoa(o.RetentionDays),
		// The root filesystem is read-only: logs go to the container's output only.
		"PGBACKREST_LOG_LEVEL_FILE":    "off",
		"PGBACKREST_LOG_LEVEL_CONSOLE": "info",
		"PGBACKREST_LOCK_PATH":         pgbackrestTmp + "/pgbackrest",
		"PGBACKREST_SPOOL_PATH":        pgbackrestTmp + "/pgbackrest",
	}
	if len(o.ServiceAccountAnnotations) > 0 {
		env["PGBACKREST_REPO1_S3_KEY_TYPE"] = "web-id"
	}
	if caFile != "" {
		env["PGBACKREST_REPO1_STORAGE_CA_FILE"] = caFile
	}
	if o.EncryptionSecret != "" {
		env["PGBACKREST_REPO1_CIPHER_TYPE"] = "aes-256-cbc"
	}
	return env
}

// secretEnv are pgBackRest's settings that come from Secrets: the keys and the passphrase.
func (o ObjectStore) secretEnv() []corev1.EnvVar {
	return o.secretRefs("PGBACKREST_REPO1_S3_KEY", "PGBACKREST_REPO1_S3_KEY_SECRET", "PGBACKREST_REPO1_CIPHER_PASS")
}

// secretRefs are the keys and the passphrase from their Secrets, under the names a tool reads.
func (o ObjectStore) secretRefs(keyID, secretKey, passphrase string) []corev1.EnvVar {
	ref := func(env, secret, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: env, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key,
		}}}
	}
	var out []corev1.EnvVar
	if o.CredentialsSecret != "" {
		out = append(out, ref(keyID, o.CredentialsSecret, AccessKeyIDKey), ref(secretKey, o.CredentialsSecret, SecretAccessKeyKey))
	}
	if o.EncryptionSecret != "" {
		out = append(out, ref(passphrase, o.EncryptionSecret, EncryptionPassphraseKey))
	}
	return out
}

// DumpsFolder is the folder, under the stack's prefix, of an external database's dumps.
const DumpsFolder = "dumps"

// RcloneSettings are rclone's settings for the dumps of an external database (rclone
// reads a remote's settings from RCLONE_CONFIG_<REMOTE>_*): an s3 remote named store,
// and with encryptionSecret a crypt remote named sealed over the dumps' folder, whose
// password dump-to-bucket.sh obscures from ENCRYPTION_PASSPHRASE as rclone wants it.
// DUMPS is the folder the scripts read and write, RETENTION_DAYS how long a dump stays;
// caFile is where the endpoint's CA bundle is mounted ("" for the system's).
func (o ObjectStore) RcloneSettings(caFile string) map[string]string {
	host, port := o.hostPort()
	folder := "store:" + o.Bucket + strings.TrimSuffix(o.Prefix, "/") + "/" + DumpsFolder
	env := map[string]string{
		// No config file: every setting is here (empty is rclone's in-memory config).
		"RCLONE_CONFIG":                        "",
		"RCLONE_CONFIG_STORE_TYPE":             "s3",
		"RCLONE_CONFIG_STORE_PROVIDER":         "Other",
		"RCLONE_CONFIG_STORE_ENDPOINT":         "https://" + net.JoinHostPort(host, port),
		"RCLONE_CONFIG_STORE_REGION":           o.Region,
		"RCLONE_CONFIG_STORE_FORCE_PATH_STYLE": strconv.FormatBool(o.URIStyle == "path"),
		// The bucket exists (the team made it): no rights to create one are needed.
		"RCLONE_CONFIG_STORE_NO_CHECK_BUCKET": "true",
		"DUMPS":                               folder,
		"RETENTION_DAYS":                      strconv.Itoa(o.RetentionDays),
	}
	if len(o.ServiceAccountAnnotations) > 0 {
		// The AWS SDK's chain, which reads the web identity's token and role.
		env["RCLONE_CONFIG_STORE_ENV_AUTH"] = "true"
	}
	if caFile != "" {
		env["RCLONE_CA_CERT"] = caFile
	}
	if o.EncryptionSecret != "" {
		env["RCLONE_CONFIG_SEALED_TYPE"] = "crypt"
		env["RCLONE_CONFIG_SEALED_REMOTE"] = folder
		env["DUMPS"] = "sealed:"
	}
	return env
}

// rcloneSecretEnv are rclone's settings that come from Secrets.
func (o ObjectStore) rcloneSecretEnv() []corev1.EnvVar {
	return o.secretRefs("RCLONE_CONFIG_STORE_ACCESS_KEY_ID", "RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY", "ENCRYPTION_PASSPHRASE")
}

// archiveSettings are the server settings that archive every WAL segment to the store.
func archiveSettings() []string {
	return []string{"archive_mode=on", "archive_command=" + ArchiveCommand, "archive_timeout=" + ArchiveTimeout}
}

// CarriesPgBackRest refuses an image known to lack pgBackRest: the official postgres
// image (its Debian packages have PostgreSQL only). Any other image is the team's word.
func CarriesPgBackRest(image string) error {
	ref, err := reference.ParseNormalizedNamed(image)
	if image == "" || err != nil || reference.FamiliarName(ref) != "postgres" {
		return nil
	}
	return fmt.Errorf("is %s, the official image, which has no pgBackRest", image)
}
