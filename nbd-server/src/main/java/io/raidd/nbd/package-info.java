/**
 * The NBD server: exports ({@link io.raidd.nbd.NbdExport}: a name and a {@link
 * io.raidd.blockdev.BlockDevice}) served over TCP and unix sockets, optionally with TLS.
 *
 * <h2>Structure</h2>
 *
 * <ul>
 *   <li>Wire formats: {@code HandshakeDescriptor}, {@code OptionDescriptor}, {@code
 *       RequestDescriptor}, {@code SimpleReplyDescriptor}, {@code StructuredReplyDescriptor} (ASCII
 *       layouts next to the offsets), {@code TransmissionFlags}, {@code NbdErrno}.
 *   <li>Handshake and option haggling: {@code NbdNegotiationHandler} (state enum CLIENT_FLAGS,
 *       OPTION_HEADER, OPTION_DATA, OPTION_SKIP, TLS_HANDSHAKE, TRANSMISSION, CLOSED), with {@code
 *       OptionRequests} (parsing) and {@code OptionReplies} (encoding).
 *   <li>Transmission decoding: {@code NbdRequestDecoder} (state enum HEADER, RESERVE, PAYLOAD,
 *       SKIP_PAYLOAD, STOPPED) producing {@code NbdRequest}s, gated by {@code ConnectionBudget} and
 *       {@code SharedByteBudget}.
 *   <li>Command execution: {@code CommandExecutor} (checks on the event loop; READs the device
 *       holds in memory answered on the event loop, read into the reply through {@code
 *       BlockDevice.readIfCached}, which never waits for a disk; every other device call on I/O threads via {@code FairSubmitter},
 *       which keeps one worker per connection running its queue and adds workers only when the
 *       queue stops making progress), {@code Replies} (encoding), {@code AllocationExtents}
 *       (base:allocation), driven per connection by {@code NbdTransmissionHandler}, which writes
 *       replies finished on I/O threads in batches.
 *   <li>Write merging: adjacent plain WRITEs waiting on a connection form a {@code WriteRun} that
 *       reaches the device as one {@code BlockDevice.writeGathered}, cut where the device's
 *       {@code optimalWriteBytes} (a RAID-5/6 full stripe) ends; a run that continues a sequential
 *       stream is held ("plugged") while other requests of the connection are in flight, until the
 *       next request shows whether it continues it. Each request keeps its own reply.
 * </ul>
 *
 * <h2>Decisions where the protocol leaves a choice</h2>
 *
 * <ul>
 *   <li>READ or WRITE longer than the maximum payload (32 MiB by default): refused with EINVAL. The
 *       WRITE payload is skipped as it arrives, never buffered, so the stream stays in sync at
 *       constant memory whatever the length; no disconnect.
 *   <li>Option data longer than 64 KiB is skipped without buffering, then answered ERR_TOO_BIG
 *       (known option) or ERR_UNSUP (unknown option); EXPORT_NAME, which has no error reply, is
 *       answered by a hard disconnect.
 *   <li>Hard disconnects only where the protocol allows: unknown client flags, a bad option or
 *       request magic (after answering the requests already accepted), an unsatisfiable
 *       EXPORT_NAME, a failed TLS handshake, and the handshake timeout.
 *   <li>Block sizes: minimum = max(512, logical block size) capped at 64 KiB and halved until it
 *       divides the export size; preferred = max(4096, minimum, export hint); maximum = the max
 *       payload. Alignment is enforced (EINVAL) only for clients that asked for
 *       NBD_INFO_BLOCK_SIZE in GO; others are served at byte granularity.
 *   <li>TRIM and WRITE_ZEROES are not limited by the maximum payload unless the client agreed to
 *       block sizes (then WRITE_ZEROES without FAST_ZERO above it is EINVAL, as specified).
 *   <li>FAST_ZERO is advertised with WRITE_ZEROES and answered ENOTSUP at once unless the export
 *       declares fast zeroing; NO_HOLE writes real zeroes, so NO_HOLE with FAST_ZERO is ENOTSUP.
 *   <li>Zero-length READ, WRITE, TRIM and WRITE_ZEROES succeed and do nothing; zero-length
 *       BLOCK_STATUS is EINVAL (no nonzero extent could describe it).
 *   <li>Structured READs of 64 KiB or more send zero runs of 4 KiB or more as OFFSET_HOLE, unless
 *       DF is set; errors are ERROR (refusals) or ERROR_OFFSET (device failures).
 *   <li>CAN_MULTI_CONN is always set: connections share the device and keep no cache.
 *   <li>Adjacent WRITEs may reach the device as one write (above); the protocol defines no order
 *       between requests in flight, and a merged run that fails is retried request by request, so
 *       each reply still speaks for its own range. FUA writes are never merged.
 * </ul>
 */
package io.raidd.nbd;
