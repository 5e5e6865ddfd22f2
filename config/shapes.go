package config

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/arhean/backstage-pulumi/components/backstage"
	"github.com/arhean/backstage-pulumi/components/postgres"
	"github.com/arhean/backstage-pulumi/components/workload"
)

// The stack file's structured values as the CLI hands them to the program (JSON): each
// structured key reads into one of these shapes, whose JSON names are the stack file's,
// and the components' args are made from them (config.go). The components take plain
// Go args and know nothing of this format. Where a shape has the same fields as the
// args type, Go converts one into the other (tags aside), so a field added to one and
// not the other is a compile error.

// SecretStrings is a map of secret values: each becomes a secret output as it is read,
// so none can reach state or an object unencrypted.
type SecretStrings map[string]pulumi.StringInput

// UnmarshalJSON reads a stack's map of strings and marks every value secret.
func (m *SecretStrings) UnmarshalJSON(data []byte) error {
	var plain map[string]string
	if err := json.Unmarshal(data, &plain); err != nil {
		return fmt.Errorf("is not a map of names to strings: %w", err)
	}
	*m = SecretStrings{}
	for k, v := range plain {
		(*m)[k] = pulumi.ToSecret(pulumi.String(v)).(pulumi.StringOutput)
	}
	return nil
}

// RegistryLogin is backstage:registryAuth, a registry login; its password stays secret.
type RegistryLogin struct {
	Server   string
	Username string
	Password pulumi.StringInput
}

// UnmarshalJSON reads {server, username, password} and keeps the password secret.
func (a *RegistryLogin) UnmarshalJSON(data []byte) error {
	var plain struct {
		Server   string `json:"server"`
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal(data, &plain); err != nil {
		return fmt.Errorf("is not {server, username, password}: %w", err)
	}
	if plain.Server == "" || plain.Username == "" || plain.Password == "" {
		return fmt.Errorf("needs server, username and password")
	}
	a.Server, a.Username = plain.Server, plain.Username
	a.Password = pulumi.ToSecret(pulumi.String(plain.Password)).(pulumi.StringOutput)
	return nil
}

func (a *RegistryLogin) args() *backstage.RegistryAuth { return (*backstage.RegistryAuth)(a) }

// ResourceList is the CPU and memory of requests or limits.
type ResourceList struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
}

// Resources are backstage:resources and backstage:postgresResources.
type Resources struct {
	Requests ResourceList `json:"requests"`
	Limits   ResourceList `json:"limits"`
}

func (r Resources) args() workload.Resources {
	return workload.Resources{
		Requests: workload.ResourceList(r.Requests),
		Limits:   workload.ResourceList(r.Limits),
	}
}

// Metrics is backstage:metrics.
type Metrics struct {
	Port             int    `json:"port"`
	ScraperNamespace string `json:"scraperNamespace"`
	ServiceMonitor   bool   `json:"serviceMonitor"`
}

func (m *Metrics) args() *backstage.Metrics { return (*backstage.Metrics)(m) }

// Backup is backstage:backup.
type Backup struct {
	Schedule      string `json:"schedule"`
	Retention     int    `json:"retention"`
	Size          string `json:"size"`
	StorageClass  string `json:"storageClass"`
	ExistingClaim string `json:"existingClaim"`
	// ObjectStore, for the in-cluster database, replaces the dumps to a claim with
	// pgBackRest's base backups and WAL archive in a bucket.
	ObjectStore *ObjectStore `json:"objectStore"`
}

// ObjectStore is backstage:backup.objectStore.
type ObjectStore struct {
	Endpoint                  string            `json:"endpoint"`
	Bucket                    string            `json:"bucket"`
	Prefix                    string            `json:"prefix"`
	Region                    string            `json:"region"`
	URIStyle                  string            `json:"uriStyle"`
	RetentionDays             int               `json:"retentionDays"`
	CredentialsSecret         string            `json:"credentialsSecret"`
	ServiceAccountAnnotations map[string]string `json:"serviceAccountAnnotations"`
	CIDRs                     []string          `json:"cidrs"`
	CABundle                  string            `json:"caBundle"`
	EncryptionSecret          string            `json:"encryptionSecret"`
	RestoreFrom               string            `json:"restoreFrom"`
}

func (o *ObjectStore) args() *postgres.ObjectStore { return (*postgres.ObjectStore)(o) }

// PostgresUpgrade is backstage:postgresUpgrade.
type PostgresUpgrade struct {
	From       int    `json:"from"`
	FromServer string `json:"fromServer"`
	Done       bool   `json:"done"`
}

func (u *PostgresUpgrade) args() *postgres.PostgresUpgrade { return (*postgres.PostgresUpgrade)(u) }

// shapeOf is a component's default resources as the stack file writes them.
func shapeOf(r workload.Resources) Resources {
	return Resources{Requests: ResourceList(r.Requests), Limits: ResourceList(r.Limits)}
}
