// Command eks-cicd-langhost is a TEST-ONLY stand-in for Pulumi's Node.js and Go
// language hosts (pulumi-language-nodejs, pulumi-language-go).
//
// Why: the real hosts live in their own Go modules of github.com/pulumi/pulumi
// (sdk/nodejs/cmd/pulumi-language-nodejs, sdk/go/pulumi-language-go), and the Go
// module proxy this project's test machines can reach answers "403 Forbidden:
// This module version is not available" for them, so they cannot be built here.
// github.com/pulumi/pulumi/pkg/v3 and sdk/v3 are served, and they hold the code
// generators and helpers a language host needs; this binary is a small host
// written on top of them. Never ship it: use the real hosts outside these tests.
//
// The language is chosen by the name the binary is invoked under
// (pulumi-language-nodejs or pulumi-language-go). As a plugin it takes the engine
// address as its first non-flag argument, serves pulumirpc.LanguageRuntime on
// 127.0.0.1, prints the port, and exits on SIGINT/SIGTERM or when its parent dies.
//
// Implemented: Handshake, GetPluginInfo, Cancel, GetRequiredPlugins and
// GetRequiredPackages (both answer "none"; list packages in Pulumi.yaml
// `packages:`), GetProgramDependencies, About, InstallDependencies (npm install;
// go mod download), Run, GeneratePackage and Link (`pulumi package add`).
// Run mirrors the real hosts' command lines and environment, but the Node.js
// host passes the engine's monitor address straight to the program instead of
// proxying it (the proxy only served the --sync invoke pipes, which current
// @pulumi/pulumi no longer reads), and runtime options other than Node.js's
// typescript, tsconfig, nodeargs and packagemanager are ignored.
//
// Not implemented (Unimplemented errors): GenerateProject, GenerateProgram, Pack,
// RunPlugin, RuntimeOptionsPrompts, Template; debugger attachment, tracing,
// bun, Node.js version managers, and Go's `binary`/`buildTarget` options.
//
// CLI mode, used by the Python stand-in host to implement GeneratePackage:
//
//	eks-cicd-langhost gen-sdk nodejs|go|python SCHEMA_JSON OUT_DIR [--local]
//
// generates an SDK from a schema file with no schema loader, so the schema must
// not depend on other packages.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is what GetPluginInfo reports: the pulumi release the generators come from.
const version = "3.276.0"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "gen-sdk" {
		if err := genSDKCommand(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "gen-sdk:", err)
			os.Exit(1)
		}
		return
	}
	var lang string
	switch filepath.Base(os.Args[0]) {
	case "pulumi-language-nodejs":
		lang = "nodejs"
	case "pulumi-language-go":
		lang = "go"
	default:
		fmt.Fprintf(os.Stderr, "usage: run as pulumi-language-nodejs or pulumi-language-go ENGINE_ADDRESS,\n"+
			"   or: %s gen-sdk nodejs|go|python SCHEMA_JSON OUT_DIR [--local]\n", os.Args[0])
		os.Exit(2)
	}
	if err := serve(lang); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-%s: %v\n", lang, err)
		os.Exit(1)
	}
}

func serve(lang string) error {
	// The engine may pass --logtostderr, -v=N (both registered by glog, which the SDK imports) and
	// --tracing to any plugin; they are accepted and ignored.
	flag.String("tracing", "", "ignored")
	showVersion := flag.Bool("version", false, "print the plugin version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return nil
	}

	// lifetime ends on SIGINT/SIGTERM or when the parent (the engine) goes away.
	lifetime, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go watchParent(stop)

	b := newBase(lang, flag.Arg(0), lifetime)
	var srv pulumirpc.LanguageRuntimeServer = &nodeHost{b}
	if lang == "go" {
		srv = &goHost{b}
	}

	shutdown := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: shutdown,
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(s, srv)
			return nil
		},
	})
	if err != nil {
		return err
	}
	go func() {
		<-lifetime.Done()
		close(shutdown) // graceful stop; running programs are interrupted via b.ctx
		time.Sleep(10 * time.Second)
		os.Exit(1) // an RPC did not finish in time
	}()
	fmt.Println(handle.Port)
	return <-handle.Done
}

// watchParent calls stop once the process that started us has exited (we get re-parented).
func watchParent(stop func()) {
	ppid := os.Getppid()
	for range time.Tick(time.Second) {
		if os.Getppid() != ppid {
			stop()
			return
		}
	}
}

func genSDKCommand(args []string) error {
	local := false
	var pos []string
	for _, a := range args {
		if a == "--local" {
			local = true
		} else {
			pos = append(pos, a)
		}
	}
	if len(pos) != 3 {
		return fmt.Errorf("usage: gen-sdk nodejs|go|python SCHEMA_JSON OUT_DIR [--local]")
	}
	schemaJSON, err := os.ReadFile(pos[1])
	if err != nil {
		return err
	}
	files, diags, err := generate(pos[0], schemaJSON, noLoader{}, nil, nil, local)
	for _, d := range diags {
		fmt.Fprintln(os.Stderr, d.Error())
	}
	if err != nil {
		return err
	}
	if diags.HasErrors() {
		return fmt.Errorf("schema has errors")
	}
	return writeFiles(pos[2], files)
}
