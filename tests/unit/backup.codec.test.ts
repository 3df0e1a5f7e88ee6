import { FieldValue, GeoPoint, Timestamp, VectorValue } from '@google-cloud/firestore';
import { decodeValue, encodeFields, encodeValue } from '../../shared/backup/codec.js';
import { backupFirestore } from '../../shared/backup/firestore.js';
import { backupIdFor, fileNameFor } from '../../shared/backup/manifest.js';
import { parseBackupLocation, parseBackupTarget } from '../../shared/backup/store.js';

// A client that never connects: decoding only needs it to build references.
const db = backupFirestore({ projectId: 'p', emulatorHost: '127.0.0.1:1' });
afterAll(() => db.terminate());

const roundTrip = (v: unknown) => decodeValue(db, JSON.parse(JSON.stringify(encodeValue(v))));

describe('backup value encoding', () => {
  it('round-trips every Firestore value type exactly', () => {
    const ts = new Timestamp(1_767_225_600, 123_456_789);
    expect(roundTrip(null)).toBeNull();
    expect(roundTrip(true)).toBe(true);
    expect(roundTrip('héllo ✓')).toBe('héllo ✓');
    expect(roundTrip(9_007_199_254_740_993n)).toBe(9_007_199_254_740_993n);
    expect(roundTrip(-42n)).toBe(-42n);
    expect(roundTrip(1.5)).toBe(1.5);
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    expect(roundTrip(NaN)).toBeNaN();
    expect(roundTrip(Infinity)).toBe(Infinity);
    expect(roundTrip(-Infinity)).toBe(-Infinity);
    expect((roundTrip(ts) as Timestamp).isEqual(ts)).toBe(true);
    expect(Buffer.from(roundTrip(Buffer.from([0, 255, 7])) as Uint8Array)).toEqual(Buffer.from([0, 255, 7]));
    expect((roundTrip(db.doc('investigations/abc/comments/c1')) as { path: string }).path).toBe('investigations/abc/comments/c1');
    expect((roundTrip(new GeoPoint(51.5, -0.12)) as GeoPoint).isEqual(new GeoPoint(51.5, -0.12))).toBe(true);
    expect((roundTrip(FieldValue.vector([1, 2.5])) as VectorValue).toArray()).toEqual([1, 2.5]);
    expect(roundTrip([1n, 'a', [null], { b: true }])).toEqual([1n, 'a', [null], { b: true }]);
  });

  it('never confuses a map whose key looks like a tag with a tagged value', () => {
    const tricky = { $int: '5', $map: { x: 'y' }, nested: { $ts: [1, 2] } };
    expect(roundTrip(tricky)).toEqual(tricky);
  });

  it('encodes fields in a stable order', () => {
    expect(JSON.stringify(encodeFields({ b: 1n, a: 'x' }))).toBe('{"a":"x","b":{"$int":"1"}}');
  });

  it('rejects values it cannot encode, and damaged encodings', () => {
    expect(() => encodeValue(new Date())).toThrow(/Cannot encode/);
    expect(() => decodeValue(db, { $int: 'twelve' })).toThrow(/Invalid encoded value/);
    expect(() => decodeValue(db, { $int: '1', $double: 1 })).toThrow(/one tag/);
    expect(() => decodeValue(db, { $what: 1 })).toThrow(/Invalid encoded value/);
  });
});

describe('backup names and locations', () => {
  it('derives sortable backup ids and safe, unique file names', () => {
    expect(backupIdFor(new Date('2026-03-01T09:05:07.123Z'))).toBe('backup-20260301T090507123Z');
    expect(fileNameFor(['investigations', 'comments'], new Set())).toBe('investigations.comments.ndjson.gz');
    expect(fileNameFor(['a b'], new Set(['a_b.ndjson.gz']))).toBe('a_b-2.ndjson.gz');
  });

  it('parses gs:// and folder locations', () => {
    expect(parseBackupLocation('gs://tsi-backups/prod/backup-1')).toEqual({ kind: 'gcs', bucket: 'tsi-backups', prefix: 'prod', backupId: 'backup-1' });
    expect(parseBackupLocation('/tmp/backups/backup-1/')).toEqual({ kind: 'folder', root: '/tmp/backups', backupId: 'backup-1' });
    expect(parseBackupTarget('gs://tsi-backups')).toEqual({ kind: 'gcs', bucket: 'tsi-backups', prefix: '' });
    expect(() => parseBackupLocation('gs://x')).toThrow();
  });
});
