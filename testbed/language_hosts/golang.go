package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// goHost stands in for pulumi-language-go.
type goHost struct{ base }

// Run builds the program with `go build` and runs it with the environment of the real host's constructEnv.
func (h *goHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find go on the $PATH: " + err.Error()}, nil
	}
	tmp, err := os.MkdirTemp("", "pulumi-go.")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	program := filepath.Join(tmp, "program")
	build, buildDone := h.command(ctx, gobin,
		"build", "-buildvcs=false", "-trimpath", "-ldflags", "-w -s", "-o", program, ".")
	defer buildDone()
	var out bytes.Buffer
	build.Dir, build.Stdout, build.Stderr = req.Info.ProgramDirectory, &out, &out
	if err := build.Run(); err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("error in compiling Go: go build: %v\n%s", err, out.String())}, nil
	}

	env := os.Environ()
	setenv := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	if len(req.Config) > 0 {
		cfg, err := json.Marshal(req.Config)
		if err != nil {
			return nil, err
		}
		setenv("PULUMI_CONFIG", string(cfg))
	}
	setenv("PULUMI_CONFIG_SECRET_KEYS", secretKeysJSON(req.ConfigSecretKeys))
	setenv("PULUMI_ORGANIZATION", req.Organization)
	setenv("PULUMI_PROJECT", req.Project)
	setenv("PULUMI_ROOT_DIRECTORY", req.Info.RootDirectory)
	setenv("PULUMI_STACK", req.Stack)
	setenv("PULUMI_DRY_RUN", strconv.FormatBool(req.DryRun))
	setenv("PULUMI_PARALLEL", strconv.Itoa(int(req.Parallel)))
	setenv("PULUMI_MONITOR", req.MonitorAddress)
	setenv("PULUMI_ENGINE", h.engineAddress)

	cmd, done := h.command(ctx, program, req.Args...)
	defer done()
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = req.Pwd, env, os.Stdout, os.Stderr
	return runResponse(cmd.Run()), nil
}

// InstallDependencies runs `go mod download` (the real host runs `go mod tidy`).
func (h *goHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.IsTerminal)
	if err != nil {
		return err
	}
	defer closer.Close()
	dir := req.GetInfo().GetProgramDirectory()
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		fmt.Fprintln(stdout, "No go.mod, nothing to install.")
		return closer.Close()
	}
	fmt.Fprint(stdout, "Installing dependencies with go mod download...\n\n")
	cmd := exec.CommandContext(server.Context(), "go", "mod", "download")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go mod download failed: %w", err)
	}
	fmt.Fprint(stdout, "Finished installing dependencies\n\n")
	return closer.Close()
}

func readGoMod(dir string) (string, *modfile.File, error) {
	path := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		return path, nil, err
	}
	f, err := modfile.Parse(path, data, nil)
	return path, f, err
}

func (h *goHost) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	_, mod, err := readGoMod(req.Info.ProgramDirectory)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, r := range mod.Require {
		if !r.Indirect || req.TransitiveDependencies {
			resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: r.Mod.Path, Version: r.Mod.Version})
		}
	}
	return resp, nil
}

func (h *goHost) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	return about(ctx, "go", "version")
}

// Link makes the program's go.mod use the generated SDKs: `require M v0.0.0` (vN.0.0 for a /vN
// module) plus `replace M => ./PATH`, so the program builds without a `go mod tidy`.
func (h *goHost) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	loader, err := schema.NewLoaderClient(req.LoaderTarget)
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	cached := schema.NewCachedLoader(loader)
	path, mod, err := readGoMod(req.Info.ProgramDirectory)
	if err != nil {
		return nil, err
	}

	var imports strings.Builder
	for _, dep := range req.Packages {
		pkg, err := linkedPackage(ctx, cached, dep.Package, "go", gogen.Importer)
		if err != nil {
			return nil, err
		}
		modPath, importPath := gogen.ExtractModulePath(pkg.Reference()), gogen.ExtractImportBasePath(pkg.Reference())
		if pkg.SupportPack { // `pulumi package add` always sets it; the SDK then has its own go.mod
			if modPath, importPath, err = gogen.ModuleAndImportPath(pkg); err != nil {
				return nil, err
			}
		}
		version := "v0.0.0"
		if _, major, ok := module.SplitPathVersion(modPath); ok && major != "" {
			version = strings.TrimLeft(major, "/.") + ".0.0"
		}
		// A local replacement path must start with ./ or ../ (dep.Path is relative to the project root).
		local := filepath.ToSlash(dep.Path)
		if !filepath.IsAbs(local) && !strings.HasPrefix(local, "../") {
			local = "./" + strings.TrimPrefix(local, "./")
		}
		if err := mod.AddRequire(modPath, version); err != nil {
			return nil, err
		}
		if err := mod.AddReplace(modPath, "", local, ""); err != nil {
			return nil, err
		}
		fmt.Fprintf(&imports, "    %q\n", importPath)
	}
	data, err := mod.Format()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return nil, err
	}
	return &pulumirpc.LinkResponse{
		ImportInstructions: "You can import the SDK in your Go code with:\n\n  import (\n" + imports.String() + "  )\n",
	}, nil
}
