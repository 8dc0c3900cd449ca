package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/blang/semver"
	"github.com/hashicorp/hcl/v2"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	nodegen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	pygen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// exitStatusLoggedError is the exit code with which programs say "the error was already reported".
const exitStatusLoggedError = 32

// base holds what both language hosts share.
type base struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	lang          string
	engineAddress string // from the command line, or from Handshake (which precedes other calls)

	ctx    context.Context // ends on Cancel or shutdown; running programs are interrupted then
	cancel context.CancelFunc
}

func newBase(lang, engineAddress string, lifetime context.Context) base {
	ctx, cancel := context.WithCancel(lifetime)
	return base{lang: lang, engineAddress: engineAddress, ctx: ctx, cancel: cancel}
}

func (b *base) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	b.engineAddress = req.EngineAddress
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (b *base) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (b *base) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	b.cancel()
	return &emptypb.Empty{}, nil
}

func (b *base) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (b *base) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (b *base) GeneratePackage(
	_ context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	loader, err := schema.NewLoaderClient(req.LoaderTarget)
	if err != nil {
		return nil, err
	}
	defer loader.Close()
	files, diags, err := generate(b.lang, []byte(req.Schema), schema.NewCachedLoader(loader),
		req.ExtraFiles, req.LocalDependencies, req.Local)
	if err != nil {
		return nil, err
	}
	if !diags.HasErrors() {
		if err := writeFiles(req.Directory, files); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}, nil
}

// generate binds a schema and generates the SDK files for lang, as the real hosts' GeneratePackage do.
// For Go, the go.mod of the SDK is written when the schema sets supportPack, which the CLI does for
// `pulumi package add`.
func generate(lang string, schemaJSON []byte, loader schema.ReferenceLoader,
	extraFiles map[string][]byte, localDeps map[string]string, local bool,
) (map[string][]byte, hcl.Diagnostics, error) {
	var spec schema.PackageSpec
	if err := json.Unmarshal(schemaJSON, &spec); err != nil {
		return nil, nil, err
	}
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil || diags.HasErrors() {
		return nil, diags, err
	}
	tool := "pulumi-language-" + lang
	var files map[string][]byte
	switch lang {
	case "nodejs":
		files, err = nodegen.GeneratePackage(tool, pkg, extraFiles, localDeps, local, loader)
	case "go":
		if len(extraFiles) > 0 {
			return nil, diags, errors.New("overlays are not supported for Go")
		}
		files, err = gogen.GeneratePackage(tool, pkg, localDeps)
	case "python":
		files, err = pygen.GeneratePackage(tool, pkg, extraFiles, loader)
	default:
		err = fmt.Errorf("unsupported language %q", lang)
	}
	return files, diags, err
}

func writeFiles(dir string, files map[string][]byte) error {
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// noLoader is the schema loader of the gen-sdk command: it knows no other packages.
type noLoader struct{}

var errNoLoader = errors.New("gen-sdk has no schema loader: the schema must not reference other packages")

func (noLoader) LoadPackage(string, *semver.Version) (*schema.Package, error) {
	return nil, errNoLoader
}

func (noLoader) LoadPackageV2(context.Context, *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, errNoLoader
}

func (noLoader) LoadPackageReference(string, *semver.Version) (schema.PackageReference, error) {
	return nil, errNoLoader
}

func (noLoader) LoadPackageReferenceV2(context.Context, *schema.PackageDescriptor) (schema.PackageReference, error) {
	return nil, errNoLoader
}

// linkedPackage loads, through the engine's loader, the package of a Link request dependency and
// imports its language section for lang.
func linkedPackage(
	ctx context.Context, loader schema.ReferenceLoader, dep *pulumirpc.PackageDependency,
	lang string, importer schema.Language,
) (*schema.Package, error) {
	desc := &schema.PackageDescriptor{Name: dep.Name, DownloadURL: dep.Server}
	if v, err := semver.ParseTolerant(dep.Version); err == nil {
		desc.Version = &v
	}
	if p := dep.Parameterization; p != nil {
		desc.Parameterization = &schema.ParameterizationDescriptor{Name: p.Name, Value: p.Value}
		if v, err := semver.ParseTolerant(p.Version); err == nil {
			desc.Parameterization.Version = v
		}
	}
	ref, err := schema.LoadPackageReferenceV2(ctx, loader, desc)
	if err != nil {
		return nil, err
	}
	pkg, err := ref.Definition()
	if err != nil {
		return nil, err
	}
	return pkg, pkg.ImportLanguages(map[string]schema.Language{lang: importer})
}

// command is exec.Command for the processes of a Run request: they are interrupted when the RPC is
// abandoned or the host is cancelled, and killed 5s after that. Call done once the process exited.
func (b *base) command(rpc context.Context, name string, args ...string) (cmd *exec.Cmd, done func()) {
	ctx, cancel := context.WithCancel(rpc)
	stop := context.AfterFunc(b.ctx, cancel)
	cmd = exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	return cmd, func() { stop(); cancel() }
}

// runResponse maps the result of running a program the way the real hosts do.
func runResponse(err error) *pulumirpc.RunResponse {
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitStatusLoggedError:
		return &pulumirpc.RunResponse{Bail: true} // the program already reported its error
	case errors.As(err, &exitErr) && exitErr.ExitCode() > 0:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode())}
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Problem executing program: %v", err)}
	}
}

// about is the runtime's executable on PATH and what it says of its version.
func about(ctx context.Context, tool, versionArg string) (*pulumirpc.AboutResponse, error) {
	path, err := exec.LookPath(tool)
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, path, versionArg).Output()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: path, Version: strings.TrimSpace(string(out))}, nil
}
