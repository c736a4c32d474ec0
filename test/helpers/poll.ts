/** The tests' bounded poll is the launchers' own (lib/launch/net.ts). */
export { waitFor } from '../../lib/launch/net.js'
