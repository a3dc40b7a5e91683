using System.CommandLine;
using WeSaR.Model;
using WeSaR.Training.Data;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar sample`: text from a run's checkpoint, as nanoGPT's sample.py makes it.</summary>
public static class SampleCommand
{
    public static Command Create()
    {
        var run = SavedRuns.Run();
        var prompt = new Option<string>("--prompt", "-p") { Description = "Text to continue, printed before the sample (default: a newline)", DefaultValueFactory = _ => "\n" };
        var tokens = new Option<int>("--tokens", "-n") { Description = "New tokens to generate", DefaultValueFactory = _ => 200 };
        var temperature = new Option<double>("--temperature", "-t")
        {
            Description = "Divides the logits: below 1 is more predictable, above 1 more random; 0 is greedy (always the likeliest token)",
            DefaultValueFactory = _ => 0.8,
        };
        var topK = new Option<int>("--top-k", "-k") { Description = "Draw only from the k likeliest tokens (0: from all)", DefaultValueFactory = _ => 200 };
        var seed = new Option<long>("--seed") { Description = "Seed of the draws: the same seed gives the same text", DefaultValueFactory = _ => 1337 };
        var json = new Option<bool>("--json") { Description = "Print the prompt's and the sample's token ids and the text as JSON" };
        var cmd = new Command("sample", "Generate text from a run's checkpoint (the newest, or --step), decoded with the run's tokenizer")
            { run, SavedRuns.Step, prompt, tokens, temperature, topK, seed, json, HistoryAccess.Config, HistoryAccess.Set };
        cmd.SetAction((r, ct) =>
        {
            var options = new SampleOptions(r.GetValue(tokens), r.GetValue(temperature), r.GetValue(topK), r.GetValue(seed));
            var text = r.GetValue(prompt)!;
            var problems = options.Problems().Concat(text.Length == 0 ? ["--prompt is empty: give at least one character"] : []).ToList();
            if (problems.Count > 0) return Task.FromResult(GlobalOptions.Fail(string.Join("; ", problems)));
            return SavedRuns.With(r, r.GetValue(run)!, (saved, dir) =>
            {
                var tokenizer = Tokenizers.Create(saved.Tokenizer);
                var start = tokenizer.Encode(text);
                var sample = Sampler.Generate(saved.Model, start, options);
                var output = tokenizer.Decode(start.Concat(sample));
                if (r.GetValue(json)) Tables.PrintJson(new { runDir = dir, step = saved.Step, prompt = start, tokens = sample, text = output });
                else Console.WriteLine(output);
                return 0;
            });
        });
        return cmd;
    }
}
