using System.CommandLine;
using WeSaR.Model.Export;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar export`: a run's checkpoint as model.safetensors plus config.json, for PyTorch (docs/export.md).</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var run = SavedRuns.Run();
        var format = new Option<string>("--format") { Description = "safetensors: model.safetensors with config.json (shape, flags, tokenizer)", DefaultValueFactory = _ => "safetensors" };
        format.AcceptOnlyFromAmong("safetensors");
        var output = new Option<string?>("--out", "-o") { Description = "Folder to write (default: <workdir>/exports/<run folder name>/step-<N>); files there are replaced" };
        var gates = new Option<string>("--gates")
        {
            Description = "fold: each gated weight written as alpha*W, loadable by plain GPT code; keep: W and its gate alpha apart",
            DefaultValueFactory = _ => "fold",
        };
        gates.AcceptOnlyFromAmong("fold", "keep");
        var json = new Option<bool>("--json") { Description = "Print what was written as JSON" };
        var cmd = new Command("export", "Write a run's checkpoint (the newest, or --step) as model.safetensors plus config.json, for PyTorch")
            { run, SavedRuns.Step, format, output, gates, json, HistoryAccess.Config, HistoryAccess.Set };
        cmd.SetAction((r, ct) => SavedRuns.With(r, r.GetValue(run)!, (saved, dir) =>
        {
            var mode = r.GetValue(gates) == "keep" ? GateMode.Keep : GateMode.Fold;
            var outDir = r.GetValue(output)
                ?? Path.Combine(r.GetValue(GlobalOptions.Workdir)!, "exports", Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir))), $"step-{saved.Step}");
            var tensors = ModelExport.Write(outDir, saved.Model, mode, saved.Tokenizer, saved.Step);
            var files = new[] { ModelExport.WeightsFile, ModelExport.ConfigFile }.Select(f => Path.Combine(outDir, f)).ToList();
            if (r.GetValue(json)) Tables.PrintJson(new { runDir = dir, step = saved.Step, gates = r.GetValue(gates), tensors, files });
            else
            {
                Console.WriteLine($"exported step {saved.Step} of {dir} ({tensors} tensors, gates {r.GetValue(gates)}):");
                files.ForEach(Console.WriteLine);
            }
            return 0;
        }));
        return cmd;
    }
}
