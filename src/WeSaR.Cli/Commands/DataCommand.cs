using System.CommandLine;
using WeSaR.Training.Data;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar data prepare`: text files to a token file.</summary>
public static class DataCommand
{
    public static Command Create()
    {
        var input = new Option<string[]>("--input", "-i")
        {
            Description = "Text files or globs (e.g. 'texts/*.txt', 'corpus/**/*.md'); repeat or separate with commas",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var tokenizer = new Option<string>("--tokenizer", "-t") { Description = "byte (256 symbols) or gpt2 (GPT-2 BPE)", DefaultValueFactory = _ => "byte" };
        tokenizer.AcceptOnlyFromAmong([.. Tokenizers.Names]);
        var output = new Option<string?>("--out", "-o") { Description = "Output folder (default: <workdir>/data/<name of the first input>)" };
        var val = new Option<double>("--val-fraction") { Description = "Share of tokens held out for validation", DefaultValueFactory = _ => 0.1 };

        var prepare = new Command("prepare", "Tokenize text into <out>/tokens.bin with a train/validation split") { input, tokenizer, output, val };
        prepare.SetAction(r =>
        {
            var inputs = r.GetValue(input)!;
            var fraction = r.GetValue(val);
            if (!(fraction > 0 && fraction < 0.5)) return GlobalOptions.Fail($"--val-fraction must be in (0, 0.5), got {fraction}");
            try
            {
                var files = DataPreparer.ExpandInputs(inputs);
                var outDir = r.GetValue(output) ?? Path.Combine(r.GetValue(GlobalOptions.Workdir)!, "data", Path.GetFileNameWithoutExtension(files[0]));
                var h = DataPreparer.Prepare(files, r.GetValue(tokenizer)!, outDir, fraction, Console.WriteLine);
                Console.WriteLine($"wrote {Path.Combine(outDir, TokenFile.DefaultName)}: {h.Tokenizer} tokens, vocabulary {h.VocabSize}, " +
                    $"{h.TrainTokens:N0} train + {h.ValTokens:N0} validation");
                return 0;
            }
            catch (Exception e) when (e is FileNotFoundException or ArgumentException)
            {
                return GlobalOptions.Fail(e.Message);
            }
        });
        return new Command("data", "Prepare training data") { prepare };
    }
}
