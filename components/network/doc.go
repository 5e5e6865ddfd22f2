// Package network is the NetworkIsolation component: the namespace's default-deny
// policy and each allow of the traffic matrix (docs/security.md).
package network
