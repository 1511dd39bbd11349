// Package deploy holds no code: its directory holds the deploy recipes (kubernetes/, systemd/,
// monitoring/, container/) and its tests check them, and the repository's Dockerfile and
// compose.yaml, against the real commands: every flag, environment variable, port and probe path a
// recipe uses must exist, and each recipe is run as far as this machine allows.
package deploy
