using System.Security.Cryptography;
using System.Text;
using WeSaR.Training.Config;

namespace WeSaR.Training.Data;

/// <summary>Turns data.path into an open token file: used as is when prepared, else tokenized once into a cache.</summary>
public static class DataSource
{
    /// <summary>
    /// Opens the token file for the settings; text inputs are cached under &lt;workdir&gt;/data/&lt;hash&gt;/, and
    /// <see cref="BuiltinCorpus.Name"/> is written there first.
    /// </summary>
    public static TokenFile Open(DataSettings s, string workdir, Action<string>? progress = null)
    {
        var path = s.Path == BuiltinCorpus.Name ? BuiltinCorpus.Materialize(Path.Combine(workdir, "data")) : s.Path;
        if (TokenFile.IsTokenFile(path)) return TokenFile.Open(path);
        var files = DataPreparer.ExpandInputs([path]);
        var key = new StringBuilder($"{s.Tokenizer}|{s.ValFraction:R}");
        foreach (var f in files) key.Append('|').Append(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f))));
        var dir = Path.Combine(workdir, "data", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())))[..16]);
        if (!TokenFile.IsTokenFile(dir))
        {
            progress?.Invoke($"tokenizing {files.Count} file(s) with {s.Tokenizer} into {dir}");
            // Prepared aside and renamed into place: runs (or processes) that tokenize at once never see half a file.
            var temp = $"{dir}.tmp-{Guid.NewGuid():N}";
            DataPreparer.Prepare(files, s.Tokenizer, temp, s.ValFraction, progress);
            try { Directory.Move(temp, dir); }
            catch (IOException) when (TokenFile.IsTokenFile(dir)) { Directory.Delete(temp, recursive: true); }
        }
        return TokenFile.Open(dir);
    }

    /// <summary>
    /// Why the data cannot train this run, all at once (empty if it can): a token file of another tokenizer than
    /// data.tokenizer, or a split shorter than one window of model.block-size + 1 tokens.
    /// </summary>
    public static IReadOnlyList<string> Misfits(TokenHeader data, TrainSettings settings)
    {
        var problems = new List<string>();
        if (data.Tokenizer != settings.Data.Tokenizer)
            problems.Add($"data.path holds {data.Tokenizer} tokens (vocabulary {data.VocabSize:N0}) but data.tokenizer is " +
                         $"{settings.Data.Tokenizer}: set data.tokenizer={data.Tokenizer}, or prepare the text with --tokenizer {settings.Data.Tokenizer}");
        var window = settings.Model.BlockSize + 1L;
        foreach (var (split, tokens) in new[] { ("training", data.TrainTokens), ("validation", data.ValTokens) })
            if (tokens < window)
                problems.Add($"data.path has {tokens:N0} {split} tokens, fewer than one window of model.block-size + 1 = {window:N0}: " +
                             $"give more text (at least {(long)Math.Ceiling(window / Math.Min(data.ValFraction, 1 - data.ValFraction)):N0} tokens) or a smaller model.block-size");
        return problems;
    }

    /// <summary><see cref="Open"/> and <see cref="Misfits"/> together: throws <see cref="ConfigException"/> if the data cannot serve.</summary>
    public static TokenFile OpenFor(TrainSettings settings, string workdir, Action<string>? progress = null)
    {
        TokenFile data;
        try { data = Open(settings.Data, workdir, progress); }
        catch (Exception e) when (e is FileNotFoundException or ArgumentException or InvalidDataException) { throw new ConfigException([$"data.path: {e.Message}"]); }
        var misfits = Misfits(data.Header, settings);
        if (misfits.Count == 0) return data;
        data.Dispose();
        throw new ConfigException(misfits);
    }
}
