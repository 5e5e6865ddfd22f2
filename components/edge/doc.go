// Package edge is the SecurityLayer component: the ingress controller and cert-manager
// charts, their namespaces and NetworkPolicies, and the ClusterIssuers Backstage's
// certificate comes from.
package edge
