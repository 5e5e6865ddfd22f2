// Package namespace is the restricted namespace the platform runs in, retained on
// destroy, and the Pod Security labels every namespace the program makes carries.
package namespace
