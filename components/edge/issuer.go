package edge

// Issuer names where the Backstage Ingress certificate comes from: one of the
// ClusterIssuers the SecurityLayer creates, or IssuerNone for plain HTTP. The stack's
// `tls` key takes exactly these values, so no layer translates between names.
type Issuer string

const (
	// IssuerLetsEncryptProd issues publicly trusted certificates through ACME HTTP-01.
	IssuerLetsEncryptProd Issuer = "letsencrypt-prod"
	// IssuerLetsEncryptStaging issues untrusted test certificates from Let's Encrypt's
	// staging directory, whose rate limits are generous.
	IssuerLetsEncryptStaging Issuer = "letsencrypt-staging"
	// IssuerSelfSignedCA signs with a CA the SecurityLayer makes, for clusters that no
	// public CA can reach.
	IssuerSelfSignedCA Issuer = "self-signed-ca"
	// IssuerNone serves plain HTTP: for clusters without an ingress controller only.
	IssuerNone Issuer = "none"
)

// Issuers lists every value in the order the documentation shows them.
var Issuers = []Issuer{IssuerLetsEncryptProd, IssuerLetsEncryptStaging, IssuerSelfSignedCA, IssuerNone}

// ACME says whether the issuer is one of Let's Encrypt's, which need an account e-mail.
func (i Issuer) ACME() bool {
	return i == IssuerLetsEncryptProd || i == IssuerLetsEncryptStaging
}

// acmeDirectories are the ACME servers of the Let's Encrypt issuers.
var acmeDirectories = map[Issuer]string{
	IssuerLetsEncryptStaging: "https://acme-staging-v02.api.letsencrypt.org/directory",
	IssuerLetsEncryptProd:    "https://acme-v02.api.letsencrypt.org/directory",
}
