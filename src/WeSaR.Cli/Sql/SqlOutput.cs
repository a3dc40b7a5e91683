using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace WeSaR.Cli.Sql;

/// <summary>A query's result as a table for reading, as CSV, or as JSON (an array of one object per row).</summary>
public static class SqlOutput
{
    // JSON text in a value (a payload, a config) reads better with its quotes left bare.
    static readonly JsonSerializerOptions Options = new(Tables.Json) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };

    /// <summary>A value as text: lists and structs as JSON, times in ISO 8601, numbers in the invariant culture; null stays null.</summary>
    public static string? Text(object? v) => v switch
    {
        null => null,
        string s => s,
        DateTime t => t.ToString("o", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable => JsonSerializer.Serialize(Json(v), Compact),
        _ => v.ToString(),
    };

    public static string Csv(SqlResult result)
    {
        var text = new StringBuilder();
        text.AppendLine(string.Join(",", result.Columns.Select(Tables.Csv)));
        foreach (var row in result.Rows) text.AppendLine(string.Join(",", row.Select(v => Tables.Csv(Text(v)))));
        return text.ToString();
    }

    public static string Json(SqlResult result)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = Options.Encoder }))
        {
            w.WriteStartArray();
            foreach (var row in result.Rows)
            {
                w.WriteStartObject();
                for (var i = 0; i < row.Length; i++)
                {
                    w.WritePropertyName(result.Columns[i]);
                    JsonSerializer.Serialize(w, Json(row[i]), Options);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    // What System.Text.Json cannot write as it comes: DuckDB's HUGEINT (sum() of integers) and the values inside lists and structs.
    static object? Json(object? v) => v switch
    {
        BigInteger b => b >= long.MinValue && b <= long.MaxValue ? (long)b : b.ToString(CultureInfo.InvariantCulture),
        string => v,
        IDictionary d => d.Keys.Cast<object>().ToDictionary(k => k.ToString()!, k => Json(d[k])),
        IEnumerable e => e.Cast<object?>().Select(Json).ToList(),
        _ => v,
    };

    public static void Table(SqlResult result)
    {
        var t = new Table().Border(TableBorder.Simple);
        for (var i = 0; i < result.Columns.Count; i++)
        {
            var column = new TableColumn(Markup.Escape(result.Columns[i]));
            t.AddColumn(result.Rows.All(r => r[i] is null or sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal or BigInteger)
                ? column.RightAligned() : column);
        }
        foreach (var row in result.Rows)
            t.AddRow(row.Select(v => v switch
            {
                null => "[grey]null[/]",
                double or float => ((IFormattable)v).ToString("G6", CultureInfo.InvariantCulture),
                _ => Markup.Escape(Text(v)!),
            }).ToArray());
        AnsiConsole.Write(t);
        Console.WriteLine(result.Rows.Count == 1 ? "1 row" : $"{result.Rows.Count} rows");
    }
}
