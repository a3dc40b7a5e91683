using Akka.Configuration;

namespace WeSaR.Training.Config;

/// <summary>Typed reads over HOCON that collect problems instead of throwing at the first one.</summary>
public sealed class ConfigReader(Akka.Configuration.Config config)
{
    readonly List<string> problems = [];

    public Akka.Configuration.Config Config => config;

    public void Problem(string message) => problems.Add(message);

    public void ThrowIfInvalid()
    {
        if (problems.Count > 0) throw new ConfigException(problems);
    }

    public string String(string path) => Read(path, "a string", () => config.GetString(path) ?? "", "");

    public bool Bool(string path) => Read(path, "on/off", () => config.GetBoolean(path), false);

    public long Long(string path, long min = long.MinValue)
    {
        var v = Read(path, "an integer", () => config.GetLong(path), min);
        if (v >= min) return v;
        Problem($"{path} must be at least {min}, got {v}");
        return min;   // so that what is derived from it (counts, ranges) stays valid until the problems are thrown
    }

    public int Int(string path, int min = int.MinValue) => (int)Math.Clamp(Long(path, min), int.MinValue, int.MaxValue);

    /// <summary>A finite number; <paramref name="positive"/> demands &gt; 0, else &gt;= <paramref name="min"/>.</summary>
    public double Double(string path, double min = double.NegativeInfinity, bool positive = false)
    {
        var v = Read(path, "a number", () => config.GetDouble(path), positive ? 1.0 : Math.Max(min, 0));
        if (!double.IsFinite(v)) Problem($"{path} must be a finite number, got {v}");
        else if (positive && v <= 0) Problem($"{path} must be positive, got {v}");
        else if (v < min) Problem($"{path} must be at least {min}, got {v}");
        return v;
    }

    public IReadOnlyList<long> LongList(string path) => Read(path, "a list of integers", () => (IReadOnlyList<long>)config.GetLongList(path).ToList(), []);

    public IReadOnlyList<string> StringList(string path) => Read(path, "a list of strings", () => (IReadOnlyList<string>)config.GetStringList(path).ToList(), []);

    public T OneOf<T>(string path, IReadOnlyDictionary<string, T> choices)
    {
        var s = String(path);
        if (choices.TryGetValue(s, out var v)) return v;
        Problem($"{path} must be one of {string.Join(", ", choices.Keys)}, got '{s}'");
        return choices.Values.First();
    }

    T Read<T>(string path, string what, Func<T> read, T fallback)
    {
        if (!config.HasPath(path))
        {
            Problem($"{path} is missing");
            return fallback;
        }
        try { return read(); }
        // A list or an empty value where one value belongs reads as null: ArgumentNullException.
        catch (Exception e) when (e is FormatException or ConfigurationException or InvalidCastException or OverflowException or ArgumentNullException)
        {
            Problem($"{path} must be {what}, got '{config.GetValue(path)}'");
            return fallback;
        }
    }
}
