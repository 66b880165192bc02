// Decodes Avro single-object encoded records with Apache avro's own BinaryMessageDecoder, as a
// partner's Java system would, and prints each as Avro's JSON encoding.
//
// Run with Java 17's single-file source launcher (no build step):
//   java -cp '.cache/interop/lib/*' tests/interop/Decode.java RELEASED_DIR MESSAGE...
//
// RELEASED_DIR is schemas/released: one folder per record full name with v1.avsc, v2.avsc, ...
// For each record type the newest version is the reader schema and every older version is
// added as a known writer schema, so the decoder resolves old data to the newest shape.
// Each MESSAGE file holds one record's bytes (C3 01 + fingerprint + body); output is one line
// per message: the record's full name, a tab, and the record as Avro JSON.

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.MissingSchemaException;

public class Decode {
    private static int version(File file) {
        String name = file.getName();
        return Integer.parseInt(name.substring(1, name.length() - ".avsc".length()));
    }

    private static List<BinaryMessageDecoder<GenericRecord>> decoders(File released)
            throws IOException {
        List<BinaryMessageDecoder<GenericRecord>> decoders = new ArrayList<>();
        File[] folders = released.listFiles(File::isDirectory);
        if (folders == null) {
            throw new IOException("not a folder: " + released);
        }
        Arrays.sort(folders);
        for (File folder : folders) {
            File[] files = folder.listFiles((dir, name) -> name.matches("v\\d+\\.avsc"));
            Arrays.sort(files, Comparator.comparingInt(Decode::version));
            Schema reader = new Schema.Parser().parse(files[files.length - 1]);
            BinaryMessageDecoder<GenericRecord> decoder =
                    new BinaryMessageDecoder<>(GenericData.get(), reader);
            for (int i = 0; i < files.length - 1; i++) {
                decoder.addSchema(new Schema.Parser().parse(files[i]));
            }
            decoders.add(decoder);
        }
        return decoders;
    }

    private static GenericRecord decode(
            List<BinaryMessageDecoder<GenericRecord>> decoders, byte[] bytes) throws IOException {
        for (BinaryMessageDecoder<GenericRecord> decoder : decoders) {
            try {
                return decoder.decode(bytes);
            } catch (MissingSchemaException unknown) {
                // Another record type's decoder knows this fingerprint.
            }
        }
        throw new IOException("no released schema has this record's fingerprint");
    }

    private static String json(GenericRecord record) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JsonEncoder encoder = EncoderFactory.get().jsonEncoder(record.getSchema(), out);
        new GenericDatumWriter<GenericRecord>(record.getSchema()).write(record, encoder);
        encoder.flush();
        return out.toString(StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: Decode.java RELEASED_DIR MESSAGE...");
            System.exit(2);
        }
        List<BinaryMessageDecoder<GenericRecord>> decoders = decoders(new File(args[0]));
        StringBuilder output = new StringBuilder();
        for (int i = 1; i < args.length; i++) {
            GenericRecord record = decode(decoders, Files.readAllBytes(new File(args[i]).toPath()));
            output.append(record.getSchema().getFullName()).append('\t').append(json(record));
            output.append('\n');
        }
        System.out.write(output.toString().getBytes(StandardCharsets.UTF_8));
        System.out.flush();
    }
}
