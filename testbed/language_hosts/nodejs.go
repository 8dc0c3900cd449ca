package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/pkg/v3/codegen/cgstrings"
	nodegen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/fsutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// nodeHost stands in for pulumi-language-nodejs.
type nodeHost struct{ base }

// nodeOptions are the runtime options (Pulumi.yaml runtime.options) this host honours.
type nodeOptions struct {
	typescript     bool   // run .ts sources with @pulumi/pulumi's bundled ts-node (default true)
	tsconfig       string // tsconfig file for ts-node
	nodeargs       string // extra node arguments, split at white space
	packagemanager string // npm, yarn, pnpm, bun or auto (default)
}

func parseNodeOptions(info *pulumirpc.ProgramInfo) (nodeOptions, error) {
	opts := nodeOptions{typescript: true, packagemanager: string(npm.AutoPackageManager)}
	m := info.GetOptions().AsMap()
	return opts, errors.Join(option(m, "typescript", &opts.typescript), option(m, "tsconfig", &opts.tsconfig),
		option(m, "nodeargs", &opts.nodeargs), option(m, "packagemanager", &opts.packagemanager))
}

func option[T any](m map[string]any, key string, dst *T) error {
	if v, ok := m[key]; ok {
		t, ok := v.(T)
		if !ok {
			return fmt.Errorf("runtime option %s must be a %T", key, *dst)
		}
		*dst = t
	}
	return nil
}

// packageManager is the program's options and the package manager they name for its directory.
func packageManager(info *pulumirpc.ProgramInfo) (nodeOptions, npm.PackageManager, error) {
	opts, err := parseNodeOptions(info)
	if err != nil {
		return opts, nil, err
	}
	pm, err := npm.ResolvePackageManager(npm.PackageManagerType(opts.packagemanager), info.GetProgramDirectory())
	return opts, pm, err
}

func (h *nodeHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	opts, err := parseNodeOptions(req.Info)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	runPath, err := fsutil.Searchup(req.Info.ProgramDirectory, filepath.Join("node_modules", "@pulumi/pulumi/cmd/run"))
	if err != nil {
		return &pulumirpc.RunResponse{
			Error: "It looks like the Pulumi SDK has not been installed. Have you run pulumi install?",
		}, nil
	}
	// Old @pulumi/pulumi versions expect config keys as <namespace>:config:<name>; newer ones accept both.
	cfg := make(map[string]string, len(req.Config))
	for k, v := range req.Config {
		key, err := config.ParseKey(k)
		if err != nil {
			return &pulumirpc.RunResponse{Error: err.Error()}, nil
		}
		cfg[key.Namespace()+":config:"+key.Name()] = v
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}

	// The command line of the real host's constructArguments, minus --sync and --tracing.
	args := append(strings.Fields(opts.nodeargs), runPath)
	arg := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	arg("monitor", req.MonitorAddress)
	arg("engine", h.engineAddress)
	arg("organization", req.Organization)
	arg("project", req.Project)
	arg("root-directory", req.Info.RootDirectory)
	arg("stack", req.Stack)
	arg("pwd", req.Info.ProgramDirectory)
	if req.DryRun {
		args = append(args, "--dry-run")
	}
	arg("parallel", strconv.Itoa(int(req.Parallel)))
	args = append(append(args, req.Info.EntryPoint), req.Args...)

	cmd, done := h.command(ctx, node, args...)
	defer done()
	cmd.Env = append(os.Environ(), "PULUMI_CONFIG="+string(cfgJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+secretKeysJSON(req.ConfigSecretKeys))
	if opts.typescript {
		cmd.Env = append(cmd.Env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		cmd.Env = append(cmd.Env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	// Wrapped so that node does not get (and change the blocking mode of) our own stdout/stderr.
	cmd.Stdout, cmd.Stderr = struct{ io.Writer }{os.Stdout}, struct{ io.Writer }{os.Stderr}
	return runResponse(cmd.Run()), nil
}

func secretKeysJSON(keys []string) string {
	if keys == nil {
		keys = []string{}
	}
	b, _ := json.Marshal(keys) // a []string always marshals
	return string(b)
}

func (h *nodeHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.IsTerminal)
	if err != nil {
		return err
	}
	defer closer.Close()
	dir := req.GetInfo().GetProgramDirectory()
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		fmt.Fprintln(stdout, "No package.json, nothing to install.")
		return closer.Close()
	}
	_, pm, err := packageManager(req.Info)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Installing dependencies with %s...\n\n", pm.Name())
	if err := pm.Install(server.Context(), dir, false, stdout, stderr); err != nil {
		return fmt.Errorf("%s install failed: %w", pm.Name(), err)
	}
	fmt.Fprint(stdout, "Finished installing dependencies\n\n")
	return closer.Close()
}

func (h *nodeHost) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	_, pm, err := packageManager(req.Info)
	if err != nil {
		return nil, err
	}
	pkgs, err := pm.ListPackages(ctx, req.Info.ProgramDirectory, req.TransitiveDependencies)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, p := range pkgs {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return resp, nil
}

func (h *nodeHost) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	return about(ctx, "node", "--version")
}

// Link adds the generated SDKs to package.json as file: dependencies; the engine then calls
// InstallDependencies, whose npm install runs the local SDKs' postinstall (tsc) script.
func (h *nodeHost) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	opts, pm, err := packageManager(req.Info)
	if err != nil {
		return nil, err
	}
	loader, err := schema.NewLoaderClient(req.LoaderTarget)
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	cached := schema.NewCachedLoader(loader)

	var imports strings.Builder
	for _, dep := range req.Packages {
		pkg, err := linkedPackage(ctx, cached, dep.Package, "nodejs", nodegen.Importer)
		if err != nil {
			return nil, err
		}
		name := "@pulumi/" + pkg.Name
		if info, _ := pkg.Language["nodejs"].(nodegen.NodePackageInfo); info.PackageName != "" {
			name = info.PackageName
		} else if pkg.Namespace != "" {
			name = "@" + pkg.Namespace + "/" + pkg.Name
		}
		if err := pm.Link(ctx, req.Info.ProgramDirectory, name, dep.Path); err != nil {
			return nil, err
		}
		if opts.typescript {
			fmt.Fprintf(&imports, "  import * as %s from %q;\n", cgstrings.Camel(pkg.Name), name)
		} else {
			fmt.Fprintf(&imports, "  const %s = require(%q);\n", cgstrings.Camel(pkg.Name), name)
		}
	}
	lang := "JavaScript"
	if opts.typescript {
		lang = "TypeScript"
	}
	return &pulumirpc.LinkResponse{
		ImportInstructions: "You can import the SDK in your " + lang + " code with:\n\n" + imports.String(),
	}, nil
}
