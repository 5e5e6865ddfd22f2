package stackrun

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A checkpoint whose root stack resource has a plain output, a secret one and a map
// that holds a secret, as the file backend writes them.
const checkpointWithOutputs = `{"version":3,"checkpoint":{"stack":"organization/backstage/dev","latest":{
  "manifest":{"time":"2026-11-28T10:46:06Z","magic":"","version":"v3.274.1"},
  "resources":[
    {"urn":"urn:pulumi:dev::backstage::pulumi:pulumi:Stack::backstage-dev","custom":false,"type":"pulumi:pulumi:Stack",
     "outputs":{
       "namespace":"backstage-dev",
       "password":{"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","ciphertext":"v1:abc"},
       "database":{"host":"psql","user":{"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","ciphertext":"v1:def"}}}},
    {"urn":"urn:pulumi:dev::backstage::kubernetes:core/v1:Namespace::namespace","custom":true,"type":"kubernetes:core/v1:Namespace",
     "outputs":{"namespace":"not the stack's"}}]}}}`

func TestPlainOutputsAreReadFromTheCheckpointAndSecretsRefused(t *testing.T) {
	state := t.TempDir()
	_, err := PlainOutput(state, "dev", "namespace")
	require.ErrorContains(t, err, "has no state", "a stack never deployed")

	writeCheckpoint(t, state, "", checkpointWithOutputs)
	value, err := PlainOutput(state, "dev", "namespace")
	require.NoError(t, err)
	assert.Equal(t, "backstage-dev", value, "the root stack's output, not a child resource's field of the same name")

	_, err = PlainOutput(state, "dev", "password")
	require.ErrorContains(t, err, "is a secret")
	_, err = PlainOutput(state, "dev", "database")
	require.ErrorContains(t, err, "is a secret", "a map that holds a secret is not plain")
	_, err = PlainOutput(state, "dev", "url")
	require.ErrorContains(t, err, `no output "url"`)

	writeCheckpoint(t, state, "", "")
	_, err = PlainOutput(state, "dev", "namespace")
	require.ErrorIs(t, err, errUnreadableCheckpoint)
}
